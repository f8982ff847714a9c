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

# `npm install` with the committed lockfile pins every version; `npm ci` would refuse this
# lockfile because cbor-x's optional per-platform binaries are not all listed in it.
(cd e2e && npm install --no-save --no-audit --no-fund --loglevel=error)

# Litestream for the replication drill (recovery/TestLitestreamDrill), built through the Go
# module proxy at the tested version (v0.5.18 bundles SQLite 3.53: past the WAL-reset bug)
if [ ! -x bin/litestream ]; then
  mkdir -p bin
  GOTOOLCHAIN=auto GOBIN="$PWD/bin" go install github.com/benbjohnson/litestream/cmd/litestream@v0.5.18
fi
