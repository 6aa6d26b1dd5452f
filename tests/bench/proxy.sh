#!/bin/bash
# examples/proxy under load: cmd/uringload -> proxy -> examples/c-echo.
# Prints, per run, the proxy's round trips/s, its CPU per round trip (from
# /proc, over 2 s of a 2.5 s run) and the p99 the load generator saw.
#
# usage: tests/bench/proxy.sh MODE [CONNS [SIZE]]
#   MODE: uring (build/proxy), std (build/proxy under URINGNET=off), or a
#         path to another build of examples/proxy (an A/B of two engines)
# Build first: go build -o build/proxy ./examples/proxy; make c-echo;
#              gcc -O2 -pthread -o build/uringload cmd/uringload/uringload.c
set -e
mode=$1; conns=${2:-100}; size=${3:-64}
cd "$(dirname "$0")/../.."
bport=$((7100 + RANDOM % 400)); pport=$((bport + 400))
build/c-echo -p $bport >/dev/null 2>&1 & bp=$!
case $mode in
std) URINGNET=off build/proxy -addr 127.0.0.1:$pport -to 127.0.0.1:$bport 2>/dev/null & pp=$! ;;
uring) build/proxy -addr 127.0.0.1:$pport -to 127.0.0.1:$bport 2>/dev/null & pp=$! ;;
*) "$mode" -addr 127.0.0.1:$pport -to 127.0.0.1:$bport 2>/dev/null & pp=$! ;;
esac
trap 'kill $pp $bp 2>/dev/null' EXIT
sleep 0.3
out=$(mktemp)
build/uringload -a 127.0.0.1:$pport -c $conns -s $size -W 300 -d 2500 >"$out" &
lp=$!
sleep 0.5
t0=$(awk '{print $14+$15}' /proc/$pp/stat); w0=$(date +%s.%N)
sleep 2
t1=$(awk '{print $14+$15}' /proc/$pp/stat); w1=$(date +%s.%N)
wait $lp
line=$(grep '"ops"' "$out"); rm -f "$out"
ops=$(sed 's/.*"ops":\([0-9]*\).*/\1/' <<<"$line")
secs=$(sed 's/.*"seconds":\([0-9.]*\).*/\1/' <<<"$line")
p99=$(sed 's/.*"P99":\([0-9]*\).*/\1/' <<<"$line")
awk -v m="$(basename "$mode")" -v c=$conns -v z=$size -v o=$ops -v s=$secs -v t0=$t0 -v t1=$t1 -v w0=$w0 -v w1=$w1 -v p=$p99 \
	'BEGIN { r = o / s; printf "%-12s conns %5d size %5d  round trips/s %7.0f  proxy CPU/op %6.2f us  p99 %6d us\n", m, c, z, r, (t1 - t0) / 100 / ((w1 - w0) * r) * 1e6, p }'
