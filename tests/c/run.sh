#!/bin/sh
# Runs the C test commands given as arguments; exit 0 pass, 1 fail, 77 skip.
# Every skip is printed; any failure fails the run.
pass=0 fail=0 skip=0
log=$(mktemp)
for t in "$@"; do
	sh -c "$t" >"$log" 2>&1
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $t" ;;
	77) skip=$((skip + 1)); echo "SKIP $t: $(tail -n1 "$log")" ;;
	*) fail=$((fail + 1)); echo "FAIL $t (exit $rc)"; cat "$log" ;;
	esac
done
rm -f "$log"
echo "C tests: $pass passed, $skip skipped, $fail failed"
[ "$fail" -eq 0 ]
