#!/bin/sh
# Runs the C test programs given as arguments; exit 0 pass, 1 fail, 77 skip.
# Every skip is printed; any failure fails the run.
pass=0 fail=0 skip=0
for t in "$@"; do
	"$t" >"$t.log" 2>&1
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $t" ;;
	77) skip=$((skip + 1)); echo "SKIP $t: $(tail -n1 "$t.log")" ;;
	*) fail=$((fail + 1)); echo "FAIL $t (exit $rc)"; cat "$t.log" ;;
	esac
done
echo "C tests: $pass passed, $skip skipped, $fail failed"
[ "$fail" -eq 0 ]
