#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other (go test -fuzz takes one target per
# run), each for FUZZTIME ($1, default 60s). make fuzz runs them long; make test briefly, beside
# the end-to-end packages. A script rather than a recipe: make -n would run a recipe line that
# calls $(MAKE), and with it the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-60s}
GO=${GO:-go}
for pkg in $($GO list ./...); do
	dir=${pkg/#github.com\/harborbundle\/bundle/.}
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
		echo "fuzz $dir $f ($fuzztime)"
		if ! $GO test -run='^$' -fuzz="^$f\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s "$dir" >/dev/null; then
			echo "FAIL: fuzz $f in $dir"
			$GO test -run='^$' -fuzz="^$f\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s "$dir"
			exit 1
		fi
	done
done
