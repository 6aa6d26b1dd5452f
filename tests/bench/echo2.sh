#!/bin/bash
# One echo measurement: server mode (uring|std|c) and conns; prints round trips/s,
# context switches and server CPU per round trip (from /proc).
# usage: cs.sh mode conns -> rps, context switches per op (server, all threads)
mode=$1; c=$2; d=3
port=$((7100 + RANDOM % 800))
if [ "$mode" = c ]; then
  ${CECHO:-build/c-echo} -p $port 2>/dev/null &
else
  ${ECHO:-build/echo} -addr 127.0.0.1:$port -net $mode 2>/dev/null &
fi
pid=$!
sleep 0.3
cs() { cat /proc/$pid/task/*/status | awk '/ctxt_switches/ {s+=$2} END {print s}'; }
c0=$(cs); read -r u0 s0 < <(awk '{print $14, $15}' /proc/$pid/stat)
out=$(${ECHO:-build/echo}load -p $port -c $c -s 64 -d $d -w 0 2>&1)
c1=$(cs); read -r u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
nthr=$(ls /proc/$pid/task | wc -l)
kill $pid; wait $pid 2>/dev/null
rps=$(echo "$out" | sed 's/.*rps=\([0-9]*\).*/\1/')
echo "$mode${URINGNET_DIRECTWRITE:+ dw=$URINGNET_DIRECTWRITE} c=$c rps=$rps cs_per_op=$(echo "scale=2; ($c1-$c0)/($rps*$d)" | bc) cpu_us_op=$(echo "scale=2; ((($u1-$u0)+($s1-$s0))*10000)/($rps*$d)" | bc) threads=$nthr"
