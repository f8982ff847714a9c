// Realtime poke (CONTRACT §4.5): PocketBase SSE at /api/realtime, subscribed to
// sync/{citizenId}. A message only means "pull now"; after every (re)connect we
// pull too, because SSE has no replay.

let es = null;

/** connect opens the SSE stream and calls onPoke(reason) for each poke. */
export function connect(token, citizenId, onPoke) {
  disconnect();
  const topic = `sync/${citizenId}`;
  const src = new EventSource('/api/realtime');
  es = src;
  src.addEventListener('PB_CONNECT', async (e) => {
    try {
      const { clientId } = JSON.parse(e.data);
      const res = await fetch('/api/realtime', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: token },
        body: JSON.stringify({ clientId, subscriptions: [topic] }),
      });
      if (!res.ok) console.warn('realtime: subscribe', res.status);
    } catch (err) {
      console.warn('realtime: subscribe failed', err.message);
    }
    onPoke('connect');
  });
  src.addEventListener(topic, () => onPoke('poke'));
}

/** disconnect closes the stream (sign-out, going offline). */
export function disconnect() {
  if (es) { es.close(); es = null; }
}
