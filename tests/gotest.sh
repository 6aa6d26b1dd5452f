#!/bin/bash
# Runs `go test -v` with the given arguments, printing each failure, every
# SKIP with its reason, and package results. On failure the whole log is kept
# in build/gotest-failure.log and its tail is printed.
set -o pipefail
mkdir -p build
log=build/gotest.log
go test -v "$@" >"$log" 2>&1
rc=$?
grep -E '^(ok|FAIL|panic:|--- FAIL|--- SKIP|    --- SKIP|    --- FAIL)|SKIP:|^fatal error' "$log"
echo "go test: $(grep -c -- '--- PASS' "$log") passed, $(grep -c -- '--- SKIP' "$log") skipped, $(grep -c -- '--- FAIL' "$log") failed"
if [ "$rc" -ne 0 ]; then
	cp "$log" build/gotest-failure.log
	echo "--- tail of build/gotest-failure.log:"
	tail -n 150 "$log"
fi
exit "$rc"
