#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: Chromium (browser tests),
# zbar-tools (independent QR decoder), and the Node packages of e2e/ from its lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -f e2e/package-lock.json ]; then
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
else
  (cd e2e && npm install --no-audit --no-fund --loglevel=error)
fi
