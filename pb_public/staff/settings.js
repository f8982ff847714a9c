// Per-device settings of the console (a counter PC and a clerk's laptop differ):
// the idle lock and the single-key shortcuts. Kept in localStorage.

const KEY = 'civicdesk.staff.settings';
const DEFAULTS = { idleMinutes: 0, shortcuts: true };

/** settings returns the device's settings merged over the defaults. */
export function settings() {
  try { return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) || '{}') }; } catch { return { ...DEFAULTS }; }
}

/** saveSettings merges patch into the stored settings. */
export function saveSettings(patch) {
  localStorage.setItem(KEY, JSON.stringify({ ...settings(), ...patch }));
}

/** IDLE_CHOICES are the idle-lock delays offered, in minutes (0 = never). */
export const IDLE_CHOICES = [0, 2, 5, 10, 15, 30];

/** SHARED_DEFAULT is the idle lock a "shared computer" tick at sign-in turns on. */
export const SHARED_DEFAULT = 5;
