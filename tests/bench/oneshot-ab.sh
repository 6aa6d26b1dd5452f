#!/bin/bash
# One-shot recv into each conn's own buffer (tests/bench/oneshot-echo.c)
# against multishot recv into the buffer ring (examples/c-echo), side by
# side: for each rep and point, each server under cmd/uringload, with its
# round trips/s and CPU per round trip (from /proc, between the load
# generator's start and stop lines).
#
# usage: tests/bench/oneshot-ab.sh [REPS]   (needs make c-echo first)
set -e
reps=${1:-3}
cd "$(dirname "$0")/../.."
mkdir -p build/oneshot
cc -O2 -Wall -o build/oneshot/oneshot-echo tests/bench/oneshot-echo.c -l:liburing.a
cc -O2 -pthread -o build/oneshot/uringload cmd/uringload/uringload.c
tick=$(getconf CLK_TCK)

# measure NAME CONNS SIZE CMD...: serve with CMD on port 7600 and print one line.
measure() {
	local name=$1 conns=$2 size=$3 c0= c1=
	shift 3
	"$@" >/dev/null 2>&1 &
	local pid=$!
	sleep 0.4
	while read -r line; do
		case "$line" in
		start) c0=$(awk '{print $14+$15}' /proc/$pid/stat) ;;
		stop) c1=$(awk '{print $14+$15}' /proc/$pid/stat) ;;
		\{*) echo "$line" | awk -v n=$name -v cc=$conns -v sz=$size -v c=$((c1 - c0)) -v t=$tick '{
			match($0, /"ops":[0-9]+/); o = substr($0, RSTART + 6, RLENGTH - 6)
			match($0, /"seconds":[0-9.]+/); s = substr($0, RSTART + 10, RLENGTH - 10)
			printf "%-8s conns=%-5d size=%-4d rps=%7.0f cpu_us_op=%.2f\n", n, cc, sz, o / s, c / t * 1e6 / o }' ;;
		esac
	done < <(build/oneshot/uringload -a 127.0.0.1:7600 -c "$conns" -s "$size" -W 1500 -d 5000)
	kill $pid
	wait $pid 2>/dev/null || true
	sleep 0.5
}

for rep in $(seq "$reps"); do
	for point in "1000 4096" "10000 4096" "100 64"; do
		set -- $point
		measure multi "$1" "$2" build/c-echo -p 7600
		measure oneshot "$1" "$2" build/oneshot/oneshot-echo 7600
	done
done
