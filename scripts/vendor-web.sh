#!/usr/bin/env bash
# Copies the browser libraries of the web apps from npm (web/package-lock.json pins
# them) into pb_public/, where `go build` embeds them. The copies are git-ignored:
# libraries come from the registry with a lockfile, never pasted into the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd web && npm install --no-save --no-audit --no-fund --loglevel=error)
mkdir -p pb_public/verify/vendor
cp web/node_modules/jsqr/dist/jsQR.js pb_public/verify/vendor/jsQR.js
cp web/node_modules/jsqr/LICENSE pb_public/verify/vendor/jsQR.LICENSE
# the staff console (/staff/) loads the PocketBase JS SDK as an ES module; it reuses
# /verify/vendor/jsQR.js for the front desk's QR scan (one copy)
mkdir -p pb_public/staff/vendor
cp web/node_modules/pocketbase/dist/pocketbase.es.mjs pb_public/staff/vendor/pocketbase.es.mjs
cp web/node_modules/pocketbase/LICENSE.md pb_public/staff/vendor/pocketbase.LICENSE.md
# Leaflet for the citizen app's map (loaded only when a map opens; not precached)
mkdir -p pb_public/vendor/leaflet/images
cp web/node_modules/leaflet/dist/leaflet.js web/node_modules/leaflet/dist/leaflet.css pb_public/vendor/leaflet/
cp web/node_modules/leaflet/LICENSE pb_public/vendor/leaflet/LICENSE
