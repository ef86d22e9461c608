#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other (go test -fuzz takes one target per
# run), each for FUZZTIME ($1, default 60s). make fuzz runs them long; make test briefly, beside
# the end-to-end packages. A script rather than a recipe: make -n would run a recipe line that
# calls $(MAKE), and with it the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-60s}
GO=${GO:-go}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; } # saved inputs of a target
for pkg in $($GO list ./...); do
	dir=${pkg/#github.com\/harborbundle\/bundle/.}
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
		echo "fuzz $dir $f ($fuzztime)"
		corpus=$dir/testdata/fuzz/$f
		before=$(inputs "$corpus")
		for attempt in 1 2; do
			if $GO test -run='^$' -fuzz="^$f\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s "$dir" >"$log" 2>&1; then
				break
			fi
			cat "$log"
			# A finding is saved as a failing input under testdata/fuzz: that is never retried. A
			# failure that saved none is the fuzzing engine's (a worker lost on a loaded machine,
			# seen once in CI with the output thrown away): run once more, and fail if it repeats.
			if [ "$(inputs "$corpus")" != "$before" ] || [ $attempt = 2 ]; then
				echo "FAIL: fuzz $f in $dir (failing input, if any, in $corpus)"
				exit 1
			fi
			echo "fuzz $f in $dir failed without a failing input: running it once more"
		done
	done
done
