#!/bin/bash
# Scaling run: server on cores 0..N-1, load on cores 8..15 (8 threads, 1000 conns).
# uring runs with one ring per core, and also with half as many (the default
# ListenConfig.Rings, from 4 cores) and with one.
cd "$(dirname "$0")"
run() { # mode cores [rings]
  local mode=$1 n=$2 rings=${3:-$2} port=$((9000 + RANDOM % 1000)) last=$(( $2 - 1 ))
  if [ "$mode" = std ]; then
    GOMAXPROCS=$n taskset -c 0-$last ./echo -addr 127.0.0.1:$port -net std 2>/dev/null &
  else
    GOMAXPROCS=$n taskset -c 0-$last ./echo -addr 127.0.0.1:$port -net uring -rings $rings 2>/dev/null &
  fi
  local pid=$!; sleep 0.5
  read -r u0 s0 < <(awk '{print $14, $15}' /proc/$pid/stat)
  out=$(taskset -c 8-15 ./uringload -a 127.0.0.1:$port -t 8 -c 1000 -s 64 -W 0 -d 4000 | tail -1)
  read -r u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
  kill $pid; wait $pid 2>/dev/null
  rps=$(echo "$out" | sed 's/.*"ops":\([0-9]*\).*/\1/'); rps=$((rps / 4)); p99=$(echo "$out" | sed 's/.*"P99":\([0-9]*\).*/\1/')
  local label=$mode; [ "$mode" = uring ] && label="uring rings=$rings"
  echo "$label cores=$n rps=$rps p99_us=$p99 cpu_us_op=$(awk -v t=$(( (u1-u0)+(s1-s0) )) -v r=$rps 'BEGIN{printf "%.2f", t*10000/(r*4)}')"
}
nproc; uname -r
for rep in 1 2 3; do
  for n in 1 2 4 8; do
    run std $n
    run uring $n
    if [ $n -ge 4 ]; then run uring $n $((n / 2)); fi
    if [ $n -ge 2 ]; then run uring $n 1; fi
  done
done
