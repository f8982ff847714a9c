#!/usr/bin/env node
// Writes the citizen PWA's precache list and version into pb_public/service-worker.js.
// The version is a hash of every shell file, so any change to the app makes a new
// service worker with a new cache (never a mix of old and new files).
//   node scripts/pwa-precache.mjs          rewrite
//   node scripts/pwa-precache.mjs --check  exit 1 when the worker is stale (tests)
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'pb_public');
const SW = join(root, 'service-worker.js');
// not part of the citizen shell: Go sources, the worker itself, other apps, build leftovers
const SKIP = [/\.go$/, /^service-worker\.js$/, /^(staff|verify|vendor)\//, /(^|\/)\./, /\.md$/];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(relative(root, p).split('\\').join('/'));
  }
  return out;
}

/** shell lists the precached files and the version hash over their names and bytes. */
export function shell() {
  const files = walk(root).filter((f) => !SKIP.some((re) => re.test(f)));
  const h = createHash('sha256');
  for (const f of files) { h.update(f); h.update('\0'); h.update(readFileSync(join(root, f))); h.update('\0'); }
  const urls = files.map((f) => (f === 'index.html' ? '/' : `/${f}`));
  return { version: h.digest('hex').slice(0, 16), urls, files };
}

function render({ version, urls }) {
  return `// PRECACHE-BEGIN (generated: node scripts/pwa-precache.mjs)\nconst VERSION = '${version}';\nconst SHELL = [\n${urls.map((u) => `  '${u}',`).join('\n')}\n];\n// PRECACHE-END`;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const src = readFileSync(SW, 'utf8');
  const block = /\/\/ PRECACHE-BEGIN[\s\S]*?\/\/ PRECACHE-END/;
  if (!block.test(src)) { console.error('service-worker.js: PRECACHE markers missing'); process.exit(2); }
  const next = src.replace(block, render(shell()));
  if (process.argv.includes('--check')) {
    if (next !== src) { console.error('pb_public/service-worker.js is stale: run node scripts/pwa-precache.mjs'); process.exit(1); }
    console.log('service-worker.js precache is current');
  } else {
    writeFileSync(SW, next);
    console.log(`service-worker.js: version ${shell().version}, ${shell().urls.length} files`);
  }
}
