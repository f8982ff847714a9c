#!/usr/bin/env bash
# Runs every Go fuzz target briefly (FUZZTIME, default 5s each): CI's smoke run of
# the parsers of untrusted input. The corpus it finds stays in testdata/fuzz when a
# target fails, so `go test` replays the failure from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
fuzztime="${FUZZTIME:-5s}"
status=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz ./$dir $fn ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "./$dir" >/tmp/fuzz-$$.log 2>&1; then
      cat /tmp/fuzz-$$.log
      status=1
    fi
  done
done < <(grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=bin --exclude-dir=.git -E '^func Fuzz' . | sort)
rm -f /tmp/fuzz-$$.log
exit $status
