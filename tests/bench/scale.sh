#!/bin/bash
# Scaling run for a machine with 16 or more cores and none of Go or liburing:
# `make bench-static`, carry build/dev, run build/dev/scale.sh [OUTFILE].
#
# The server runs on cores 0..N-1 (N = 1, 2, 4, 8), the load generator
# (cmd/uringload, 8 threads) on the upper half of the machine. SERVERS lists
# what runs at each N, as kind[:rings[:ENV=V,...]], rings an expression in N:
#   std            examples/echo on package net, GOMAXPROCS=N
#   uring:R        examples/echo on uringnet with R rings, GOMAXPROCS=N
#                  (a ring count below 1 or already run at this N is skipped)
#   c              examples/c-echo with N threads, one ring each
# The default compares one ring fewer than cores (the default Rings), one per
# core, half as many and one. Server CPU and context switches (all threads) are read from /proc
# at the load generator's "start" and "stop" lines, so dialing is not counted.
# Each run appends a line to OUTFILE (stdout by default); at the end the
# medians over the repetitions, with ratios to std at the same point, are
# printed to stdout. A run that measured nothing is a FAILED line with the
# last line the load generator and the server wrote to stderr.
# Environment: CONNS (1000), SIZE (64), DUR_MS (3000), REPS (3),
# CORES ("1 2 4 8"), SERVERS ("std uring:N-1 uring:N uring:N/2 uring:1 c"), and
# PROFILES (a folder: the Go servers write CPU profiles there).
cd "$(dirname "$0")" || exit 1
out=${1:-/dev/stdout}
CONNS=${CONNS:-1000} SIZE=${SIZE:-64} DUR_MS=${DUR_MS:-3000} REPS=${REPS:-3}
CORES=${CORES:-"1 2 4 8"} SERVERS=${SERVERS:-"std uring:N-1 uring:N uring:N/2 uring:1 c"}
ncpu=$(nproc)
load_cpus="$((ncpu / 2))-$((ncpu - 1))"
load_threads=$((ncpu / 2 < 8 ? ncpu / 2 : 8))
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

errdir=$(mktemp -d) # the server's and the load generator's stderr, for FAILED lines
trap 'rm -rf "$errdir"' EXIT
lastline() { tail -n 1 "$1" 2>/dev/null | tr -d '\r' | cut -c1-200; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }

run() { # label cores command...
	local label=$1 n=$2; shift 2
	local port=$((10000 + RANDOM % 20000)) # below the ephemeral ports the load dials from
	"$@" "$port" 2>"$errdir/server" &
	local pid=$! i
	for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
	local t0 s0 t1 s1 json=""
	while IFS= read -r line; do
		case $line in
		start) t0=$(cpu_ticks $pid) s0=$(switches $pid) ;;
		stop) t1=$(cpu_ticks $pid) s1=$(switches $pid) ;;
		"{"*) json=$line ;;
		esac
	done < <(taskset -c "$load_cpus" ./uringload -a "127.0.0.1:$port" -t "$load_threads" \
		-c "$CONNS" -s "$SIZE" -W 500 -d "$DUR_MS" 2>"$errdir/load")
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
	local ops p99 errs
	ops=$(sed 's/.*"ops":\([0-9]*\).*/\1/' <<<"$json")
	p99=$(sed 's/.*"P99":\([0-9]*\).*/\1/' <<<"$json")
	errs=$(sed 's/.*"errors":\([0-9]*\).*/\1/' <<<"$json")
	if [ -z "$json" ] || [ -z "$t1" ] || [ "${ops:-0}" -eq 0 ]; then
		echo "$label cores=$n conns=$CONNS size=$SIZE FAILED load: $(lastline "$errdir/load") server: $(lastline "$errdir/server")" >>"$out"
		return
	fi
	awk -v l="$label" -v n=$n -v c=$CONNS -v sz=$SIZE -v ops=$ops -v ms=$DUR_MS -v p99=$p99 \
		-v e=$errs -v dt=$((t1 - t0)) -v ds=$((s1 - s0)) 'BEGIN {
		printf "%s cores=%d conns=%d size=%d rps=%d p99_us=%d cpu_us_op=%.2f csw_op=%.3f errors=%d\n",
			l, n, c, sz, ops * 1000 / ms, p99, dt * 10000 / ops, ds / ops, e }' >>"$out"
}

# Servers: cores [rings envs] port. exec, so that run's $! is the server.
on() { local n=$1; shift; exec env GOMAXPROCS="$n" taskset -c "0-$((n - 1))" "$@"; }
profile() { [ -n "$PROFILES" ] && echo "-cpuprofile $PROFILES/$1-cores$2-rep$rep.pprof"; }
# shellcheck disable=SC2046 # profile's words
std() { on "$1" ./echo -net std -addr "127.0.0.1:$2" $(profile std "$1"); }
# shellcheck disable=SC2086,SC2046 # envs is a list of words
uring() { on "$1" env $3 ./echo -net uring -rings "$2" -addr "127.0.0.1:$4" $(profile "uring$2" "$1"); }
c() { on "$1" ./c-echo -t "$1" -p "$2"; }

# summary prints the medians of the run lines that follow line $2 of file $1.
summary() {
	tail -n +"$(($2 + 1))" "$1" | awk '
	function median(list, a, n, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) {
			t = a[i] + 0
			for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function ratio(x, y) { return y > 0 ? sprintf(" (%.2fx)", x / y) : "" }
	/^#/ || /FAILED/ { next }
	{
		label = $0; sub(/ cores=.*/, "", label)
		for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) v[kv[1]] = kv[2]
		point = "cores=" v["cores"] " conns=" v["conns"] " size=" v["size"]
		key = point " " label
		if (!(key in rps)) { order[++keys] = key; pointOf[key] = point; labelOf[key] = label }
		rps[key] = rps[key] " " v["rps"]; cpu[key] = cpu[key] " " v["cpu_us_op"]
		p99[key] = p99[key] " " v["p99_us"]; runs[key]++
	}
	END {
		for (i = 1; i <= keys; i++) {
			k = order[i]; s = pointOf[k] " std"
			r = median(rps[k]); c = median(cpu[k]); p = median(p99[k])
			printf "median %s %s: rps=%d%s cpu_us_op=%.2f%s p99_us=%d%s runs=%d\n", pointOf[k], labelOf[k],
				r, (s in rps) ? ratio(r, median(rps[s])) : "", c, (s in rps) ? ratio(c, median(cpu[s])) : "",
				p, (s in rps) ? ratio(p, median(p99[s])) : "", runs[k]
		}
	}'
}

first=0 # lines of OUTFILE before this run's
if [ "$out" != /dev/stdout ] && [ -f "$out" ]; then first=$(wc -l <"$out"); fi
echo "# $(nproc) cores, $(uname -r), conns=$CONNS size=$SIZE load on cores $load_cpus ($load_threads threads)" >>"$out"
for rep in $(seq "$REPS"); do
	for n in $CORES; do
		seen=" "
		for spec in $SERVERS; do
			IFS=: read -r kind rings envs <<<"$spec"
			if [ "$kind" != uring ]; then
				run "$kind" "$n" "$kind" "$n"
				continue
			fi
			rings=$((${rings//N/$n}))
			envs=${envs//,/ }
			[ "$rings" -lt 1 ] || [[ $seen == *" $rings:$envs "* ]] && continue
			seen+="$rings:$envs "
			run "uring rings=$rings${envs:+ $envs}" "$n" uring "$n" "$rings" "$envs"
		done
	done
done
if [ "$out" != /dev/stdout ]; then summary "$out" "$first"; fi
