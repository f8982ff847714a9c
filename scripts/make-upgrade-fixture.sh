#!/usr/bin/env bash
# Makes the upgrade test's data dir from a released civicdesk (default: bb3075b,
# the commit this branch started from): builds that release in a temporary git
# worktree, seeds and drives it with scripts/upgradefixture, and writes
# migrations/testdata/pb_data-<release>.tar.gz plus its manifest (.json).
# Run it again for each release; commit the result (it is small).
set -euo pipefail
export GOTOOLCHAIN=auto
cd "$(dirname "$0")/.."
release="${1:-bb3075b}"
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/src" "$release" >/dev/null
# never under the OS temp dir: PocketBase would take the binary for `go run` (dev mode)
root="$PWD"
mkdir -p bin
(cd "$work/src" && go build -o "$root/bin/civicdesk-$release" .)
mkdir -p migrations/testdata
go run ./scripts/upgradefixture -bin "bin/civicdesk-$release" -release "$release" -out "migrations/testdata/pb_data-$release.tar.gz"
rm -f "bin/civicdesk-$release"
ls -l "migrations/testdata/pb_data-$release".*
