#!/bin/bash
# Where an echo server's CPU goes, per round trip: perf samples of the
# server grouped by where they fall, scaled by the server's CPU per round
# trip (from /proc over the same window).
#
# usage: tests/bench/cost.sh MODE [CONNS [SIZE]]
#   MODE: uring or std (build/echo -net MODE), c (build/c-echo), or a path
#         to another build of examples/echo (run with -net uring)
# Build first: go build -o build/echo ./examples/echo; make c-echo;
#              gcc -O2 -pthread -o build/uringload cmd/uringload/uringload.c
# Needs perf. Prints one line per group, in us of server CPU per round trip:
#   k-copy     kernel copies to and from user memory (copy_to_iter, ...)
#   k-iouring  the kernel's io_uring code (io_*, __io_*)
#   k-sched    the kernel's scheduler and futexes (thread switches)
#   k-net      the rest of the kernel (TCP, softirq, system call entry)
#   u-memmove  runtime.memmove: Read's and Write's copies
#   u-runtime  the rest of the Go runtime (parking, waking, scheduling)
#   u-engine   uringnet's Go code, the C shim and liburing
#   u-other    everything else in user space (the program, libc)
set -e
mode=$1; conns=${2:-1000}; size=${3:-4096}
cd "$(dirname "$0")/../.."
ulimit -n 20000 2>/dev/null || true
port=$((7100 + RANDOM % 400))
case $mode in
c) build/c-echo -p $port >/dev/null 2>&1 & sp=$! ;;
uring | std) build/echo -addr 127.0.0.1:$port -net $mode >/dev/null 2>&1 & sp=$! ;;
*) "$mode" -addr 127.0.0.1:$port -net uring >/dev/null 2>&1 & sp=$! ;;
esac
data=$(mktemp); out=$(mktemp)
trap 'kill $sp 2>/dev/null; rm -f "$data" "$out"' EXIT
sleep 0.3
build/uringload -a 127.0.0.1:$port -c $conns -s $size -W 1500 -d 3000 >"$out" &
lp=$!
sleep 2 # dialing and warm-up
t0=$(awk '{print $14+$15}' /proc/$sp/stat); w0=$(date +%s.%N)
perf record -q -F 999 -p $sp -o "$data" -- sleep 2 >/dev/null 2>&1
t1=$(awk '{print $14+$15}' /proc/$sp/stat); w1=$(date +%s.%N)
wait $lp
line=$(grep '"ops"' "$out")
ops=$(sed 's/.*"ops":\([0-9]*\).*/\1/' <<<"$line")
secs=$(sed 's/.*"seconds":\([0-9.]*\).*/\1/' <<<"$line")
cpu_op=$(awk -v o=$ops -v s=$secs -v t0=$t0 -v t1=$t1 -v w0=$w0 -v w1=$w1 \
	'BEGIN { printf "%.3f", (t1 - t0) / 100 / ((w1 - w0) * o / s) * 1e6 }')
echo "$(basename "$mode") conns $conns size $size: $(awk -v o=$ops -v s=$secs 'BEGIN { printf "%.0f", o / s }') round trips/s, $cpu_op us of server CPU per round trip"
perf report -i "$data" --no-children --sort dso,sym -g none 2>/dev/null | grep '%' | grep -v '^#' |
	awk -v cpu=$cpu_op '
	{
		p = $1; sub("%", "", p); dso = $2; sym = $4
		for (i = 5; i <= NF; i++) sym = sym " " $i
		if (dso ~ /kernel/) {
			if (sym ~ /copy_(to|from)_iter|copy_user/) g = "k-copy"
			else if (sym ~ /^_*io_/) g = "k-iouring"
			else if (sym ~ /schedule|switch|futex|pick_|enqueue|dequeue|update_curr|ttwu|wake|select_task|idle|sched/) g = "k-sched"
			else g = "k-net"
		} else if (sym ~ /runtime\.memmove/) g = "u-memmove"
		else if (sym ~ /uringnet|^un_|io_uring|liburing/) g = "u-engine"
		else if (sym ~ /^(runtime|sync)[.(]/) g = "u-runtime"
		else g = "u-other"
		share[g] += p; total += p
	}
	END { for (g in share) printf "  %-10s %5.2f us  (%4.1f%%)\n", g, cpu * share[g] / total, 100 * share[g] / total }' | sort
