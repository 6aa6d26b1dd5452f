#!/bin/bash
# Runs `go test -v` with the given arguments, printing only each test's
# result line, every SKIP with its reason, and failures in full.
set -o pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -v "$@" 2>&1 | tee "$log" | grep -E '^(ok|FAIL|panic:|--- FAIL|--- SKIP|    --- SKIP|    --- FAIL)|SKIP:|_test.go:[0-9]+:|^fatal error' 
rc=$?
# grep exits 1 when nothing matched; only go test's status counts
rc=${PIPESTATUS[0]}
echo "go test: $(grep -c -- '--- PASS' "$log") passed, $(grep -c -- '--- SKIP' "$log") skipped, $(grep -c -- '--- FAIL' "$log") failed"
exit "$rc"
