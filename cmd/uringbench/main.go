// Command uringbench compares echo servers — uringnet ("uring"), package net
// ("std") and the pure-C server on the shim ("c") — under the same load.
// Each server runs as a child process; the load generator runs in another:
// cmd/uringload (C, epoll; compiled with $CC on the fly) by default, or with
// -client go this command re-run with -load. For every point it repeats the
// run, prints medians of throughput, p50/p99/p999 latency and server CPU per
// round trip (utime+stime from /proc, over the measured window), ratios
// of throughput, CPU and p99 against std (against std+NAME=VALUE for a mode
// with that environment, when it ran too), io_uring_enter calls per round
// trip for uring, the server's context switches per round trip (all
// threads, from /proc), and its resident memory at the end of the measured
// window (VmRSS), with its ratio to std's; then the load generator's CPU
// and the machine's idle time (/proc/stat) per round trip over the same
// window: with the load on the same cores, server + load + idle is what a
// round trip costs the machine. The runs of the servers at one point are
// interleaved. A mode uring+NAME=VALUE runs the uring server with that
// environment, to compare engine knobs side by side. -http adds net/http
// "hello world" points (examples/http, keep-alive GETs), -tls the same over
// TLS (examples/tls, HTTP/1.1; always the Go load generator, since the C
// one speaks no TLS), -grpc unary gRPC calls (tests/grpc/cmd/grpcbench,
// server and load, built in the tests/grpc module).
// -plot writes a PNG of echo throughput and CPU per round trip against
// connections. -idle N measures instead the server's RSS per idle
// keep-alive net/http conn (examples/http, N conns).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uringnet/uringnet/cmd/uringbench/loadresult"
)

func main() {
	began := time.Now()
	load := flag.Bool("load", false, "run as the load generator (internal)")
	addr := flag.String("addr", "", "load: server address")
	work := flag.String("work", "echo", "load: echo, http or https (internal)")
	connsList := flag.String("conns", "1,100,1000,10000", "echo: connection counts")
	sizes := flag.String("size", "64,4096", "echo: message sizes in bytes")
	httpConns := flag.String("http", "100", "net/http hello world: connection counts (empty: none)")
	httpWork := flag.Int("httpwork", 0, "http points: examples/http -work, SHA-256 rounds over 1 KiB per request (a handler's own CPU work)")
	tlsConns := flag.String("tls", "", "net/http hello world over TLS (HTTP/1.1, Go load generator): connection counts (empty: none)")
	grpcConns := flag.String("grpc", "", "unary gRPC health checks (tests/grpc/cmd/grpcbench, one call in flight per conn): connection counts (empty: none)")
	modes := flag.String("modes", "std,uring,c", "servers to compare; uring+NAME=VALUE[+...] (or std+..., c+...) runs that server with those environment variables (engine knobs such as URINGNET_WRITEBUF=-1, or GOMAXPROCS=1)")
	dur := flag.Duration("dur", 1750*time.Millisecond, "measured time per run")
	warm := flag.Duration("warm", 250*time.Millisecond, "warm-up per run")
	reps := flag.Int("reps", 3, "runs per point (medians are reported)")
	plot := flag.String("plot", "", "write a PNG of the results here")
	cecho := flag.String("c-echo", "build/c-echo", "path of the built examples/c-echo")
	idle := flag.Int("idle", 0, "instead: server RSS per idle keep-alive net/http conn, with this many conns")
	withIdle := flag.Int("withidle", 0, "echo and http: this many idle conns held open beside the busy ones")
	client := flag.String("client", "c", "load generator: c (cmd/uringload: epoll, few threads, light on CPU) or go (goroutine per conn)")
	threads := flag.Int("threads", 1, "load generator threads (-client c)")
	flag.Parse()

	if *load {
		n, _ := strconv.Atoi(flag.Arg(0))
		s, _ := strconv.Atoi(flag.Arg(1))
		runLoad(*addr, *work, n, s, *withIdle, *warm, *dur)
		return
	}
	tmp, err := os.MkdirTemp("", "uringbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	echo := filepath.Join(tmp, "echo")
	httpBin := filepath.Join(tmp, "http")
	tlsBin := filepath.Join(tmp, "tls")
	for bin, pkg := range map[string]string{echo: "./examples/echo", httpBin: "./examples/http", tlsBin: "./examples/tls"} {
		if out, err := goBuild("", bin, pkg); err != nil {
			log.Fatalf("build %s (run from the repository root): %v\n%s", pkg, err, out)
		}
	}
	var grpcGen grpcLoad
	if len(ints(*grpcConns)) > 0 {
		grpcGen, err = buildGRPCBench(tmp)
		if err != nil {
			fmt.Printf("SKIP grpc points: %v\n", err)
			*grpcConns = ""
		}
	}
	if *idle > 0 {
		fmt.Printf("server RSS per idle keep-alive conn, %d conns (median of %d, runs interleaved):\n", *idle, *reps)
		modes := []string{"std", "uring"}
		runs := make([][]float64, len(modes))
		for r := 0; r < *reps; r++ {
			for i, mode := range modes {
				kib, err := idleRSS(httpBin, mode, *idle)
				if err != nil {
					log.Fatalf("%s: %v", mode, err)
				}
				runs[i] = append(runs[i], kib)
			}
		}
		med := make([]float64, len(modes))
		for i, mode := range modes {
			sort.Float64s(runs[i])
			med[i] = runs[i][len(runs[i])/2]
			fmt.Printf("%-6s %7.2f KiB/conn  %.3fx std  (runs: %.2f)\n", mode, med[i], med[i]/med[0], runs[i])
		}
		return
	}
	var gen loadGen // -idle dials its own conns
	switch *client {
	case "c":
		gen, err = buildCLoad(tmp, filepath.Join("cmd", "uringload", "uringload.c"), *threads)
		if err != nil {
			log.Fatalf("%v (or use -client go)", err)
		}
	case "go":
		gen = goLoad{}
	default:
		log.Fatalf("-client %q: c or go", *client)
	}
	var results []point
	// measurePoint runs the reps of every server at one point interleaved
	// (std, uring, c, std, ...), so that a drift of this noisy machine's
	// speed hits all of them alike.
	measurePoint := func(gen loadGen, srvs []server, conns, size int) {
		runs := make([][]run, len(srvs))
		for r := 0; r < *reps; r++ {
			for i, srv := range srvs {
				res, err := measure(gen, srv, conns, size, *withIdle, *warm, *dur)
				if err != nil {
					log.Fatalf("%s %s conns=%d size=%d: %v", srv.work, srv.mode, conns, size, err)
				}
				runs[i] = append(runs[i], res)
			}
		}
		for i, srv := range srvs {
			results = append(results, point{srv.work, srv.mode, conns, size, median(runs[i])})
		}
	}
	var echoSrvs, httpSrvs, tlsSrvs, grpcSrvs []server
	for _, mode := range strings.Split(*modes, ",") {
		if netMode, _, _ := strings.Cut(mode, "+"); netMode == "c" {
			if _, err := os.Stat(*cecho); err != nil {
				fmt.Printf("SKIP mode c: %s not built (make c-echo)\n", *cecho)
				continue
			}
		} else {
			httpSrvs = append(httpSrvs, server{"http", mode, httpBin, "", *httpWork})
			tlsSrvs = append(tlsSrvs, server{"https", mode, tlsBin, "", 0})
			grpcSrvs = append(grpcSrvs, server{"grpc", mode, grpcGen.bin, "", 0})
		}
		echoSrvs = append(echoSrvs, server{"echo", mode, echo, *cecho, 0})
	}
	for _, s := range ints(*sizes) {
		for _, c := range ints(*connsList) {
			measurePoint(gen, echoSrvs, c, s)
		}
	}
	for _, c := range ints(*httpConns) {
		measurePoint(gen, httpSrvs, c, 0)
	}
	for _, c := range ints(*tlsConns) {
		measurePoint(goLoad{}, tlsSrvs, c, 0)
	}
	for _, c := range ints(*grpcConns) {
		measurePoint(grpcGen, grpcSrvs, c, 0)
	}
	if *httpWork > 0 {
		fmt.Printf("http points: handler hashes 1 KiB %d times per request (examples/http -work)\n", *httpWork)
	}
	if *withIdle > 0 {
		fmt.Printf("every point with %d idle conns held open beside its busy ones (conns)\n", *withIdle)
	}
	fmt.Println("load:", gen)
	if len(ints(*tlsConns)) > 0 {
		fmt.Println("load for https:", goLoad{})
	}
	if len(ints(*grpcConns)) > 0 {
		fmt.Println("load for grpc:", grpcGen)
	}
	printTable(os.Stdout, results)
	fmt.Printf("took %v\n", time.Since(began).Round(time.Second))
	if *plot != "" {
		if err := writePlot(*plot, results); err != nil {
			log.Fatal(err)
		}
		fmt.Println("plot written to", *plot)
	}
}

type run struct {
	rps, p50, p99, p999, cpuPerOp, entersPerOp, switchesPerOp float64
	rssMiB                                                    float64 // the server's resident memory at the end of the measured window
	// Where the rest of the machine's time went, per round trip: the load
	// generator's CPU, and the time every core sat idle (/proc/stat). With
	// idle near 0 the round trips are bound by server + load CPU per op.
	loadPerOp, idlePerOp float64
}

type point struct {
	work, mode  string // work: echo, http, https or grpc
	conns, size int
	run
}

// A server is what one point measures: a workload on a server binary.
type server struct {
	work, mode string
	bin, cecho string
	hashes     int // http: examples/http -work
}

// measure starts one server, drives load at it from a child process, and
// reads the server's CPU time around the measured window.
func measure(gen loadGen, s server, conns, size, withIdle int, warm, dur time.Duration) (run, error) {
	addr := freeAddr()
	var srv *exec.Cmd
	netMode, env, _ := strings.Cut(s.mode, "+")
	switch {
	case netMode == "c":
		_, port, _ := net.SplitHostPort(addr)
		srv = exec.Command(s.cecho, "-p", port)
	case s.work == "http":
		srv = exec.Command(s.bin, "-addr", addr, "-net", netMode, "-quiet", "-work", strconv.Itoa(s.hashes))
	case s.work == "grpc":
		srv = exec.Command(s.bin, "-serve", "-addr", addr, "-net", netMode)
	default:
		srv = exec.Command(s.bin, "-addr", addr, "-net", netMode)
	}
	if env != "" {
		srv.Env = append(os.Environ(), strings.Split(env, "+")...)
	}
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		return run{}, err
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	defer srv.Process.Kill()
	if err := waitListening(addr); err != nil {
		return run{}, err
	}
	// CPU is sampled at the load generator's "start" and "stop" lines, so
	// dialing and warm-up are left out.
	load := gen.command(s.work, addr, conns, size, withIdle, warm, dur)
	stdout, _ := load.StdoutPipe()
	if err := load.Start(); err != nil {
		return run{}, err
	}
	// A uring echo server prints its ring counters on SIGUSR1 (others
	// would die of it).
	counters := func() {
		if s.work == "echo" && netMode == "uring" {
			srv.Process.Signal(syscall.SIGUSR1)
		}
	}
	var cpu0, cpu1, sw0, sw1, load0, load1, idle0, idle1, rss float64
	var lr loadresult.Result
	var parseErr error
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		switch l := sc.Text(); l {
		case "start":
			cpu0, sw0 = procCPU(srv.Process.Pid), procSwitches(srv.Process.Pid)
			load0, idle0 = procCPU(load.Process.Pid), machineIdle()
			counters()
		case "stop":
			cpu1, sw1 = procCPU(srv.Process.Pid), procSwitches(srv.Process.Pid)
			load1, idle1 = procCPU(load.Process.Pid), machineIdle()
			rss = float64(rssKiB(srv.Process.Pid)) / 1024
			counters()
		default:
			if err := json.Unmarshal([]byte(l), &lr); err != nil {
				parseErr = fmt.Errorf("load output %q: %v", l, err)
			}
		}
	}
	if err := load.Wait(); err != nil {
		return run{}, fmt.Errorf("load: %v", err)
	}
	if parseErr != nil {
		return run{}, parseErr
	}
	if lr.Ops == 0 {
		return run{}, fmt.Errorf("no round trips (%d errors)", lr.Errors)
	}
	rps := float64(lr.Ops) / lr.Seconds
	r := run{rps: rps, p50: lr.P50, p99: lr.P99, p999: lr.P999,
		cpuPerOp: (cpu1 - cpu0) * 1e6 / float64(lr.Ops), switchesPerOp: (sw1 - sw0) / float64(lr.Ops), rssMiB: rss,
		loadPerOp: (load1 - load0) * 1e6 / float64(lr.Ops), idlePerOp: (idle1 - idle0) * 1e6 / float64(lr.Ops)}
	srv.Process.Signal(syscall.SIGTERM)
	var enters []float64 // at start, at stop, at exit
	for l := range lines {
		if i := strings.Index(l, "stats: "); i >= 0 {
			var st struct{ Enters float64 }
			if json.Unmarshal([]byte(l[i+7:]), &st) == nil {
				enters = append(enters, st.Enters)
			}
		}
	}
	if len(enters) >= 2 {
		r.entersPerOp = (enters[1] - enters[0]) / float64(lr.Ops)
	}
	srv.Wait()
	return r, nil
}

// procCPU returns utime+stime of pid in seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // clock ticks (USER_HZ = 100)
}

// machineIdle returns the seconds all cores have been idle so far (idle
// and iowait in /proc/stat's cpu line).
func machineIdle() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait ...
	if len(f) < 6 {
		return 0
	}
	idle, _ := strconv.ParseFloat(f[4], 64)
	iowait, _ := strconv.ParseFloat(f[5], 64)
	return (idle + iowait) / 100 // USER_HZ
}

// procSwitches returns the context switches (voluntary and not) of all of
// pid's threads so far.
func procSwitches(pid int) float64 {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	total := 0.0
	for _, f := range files {
		st := procStatus(f)
		total += st["voluntary_ctxt_switches"] + st["nonvoluntary_ctxt_switches"]
	}
	return total
}

// procStatus reads a /proc status file: each "Name:  value [unit]" line
// as name -> value.
func procStatus(path string) map[string]float64 {
	b, _ := os.ReadFile(path)
	st := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if f := strings.Fields(rest); ok && len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				st[name] = v
			}
		}
	}
	return st
}

func median(rs []run) run {
	pick := func(get func(run) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return run{
		rps: pick(func(r run) float64 { return r.rps }), p50: pick(func(r run) float64 { return r.p50 }),
		p99: pick(func(r run) float64 { return r.p99 }), p999: pick(func(r run) float64 { return r.p999 }),
		cpuPerOp:      pick(func(r run) float64 { return r.cpuPerOp }),
		entersPerOp:   pick(func(r run) float64 { return r.entersPerOp }),
		switchesPerOp: pick(func(r run) float64 { return r.switchesPerOp }),
		rssMiB:        pick(func(r run) float64 { return r.rssMiB }),
		loadPerOp:     pick(func(r run) float64 { return r.loadPerOp }),
		idlePerOp:     pick(func(r run) float64 { return r.idlePerOp }),
	}
}

// printTable writes the medians, with ratios against package net at the
// same point (baselineMode says which std run).
func printTable(out io.Writer, ps []point) {
	w := len("mode")
	for _, p := range ps {
		w = max(w, len(p.mode))
	}
	fmt.Fprintf(out, "%-5s %-*s %6s %6s %12s %8s %8s %8s %10s %9s %9s %9s %11s %9s %8s %8s %11s %11s\n",
		"work", w, "mode", "size", "conns", "round trip/s", "p50 µs", "p99 µs", "p999 µs", "CPU µs/op", "rps/std", "CPU/std", "p99/std", "enters/op", "csw/op", "RSS MiB", "RSS/std", "load µs/op", "idle µs/op")
	type key struct {
		work, mode  string
		size, conns int
	}
	byKey := map[key]run{}
	var stdModes []string
	for _, p := range ps {
		byKey[key{p.work, p.mode, p.size, p.conns}] = p.run
		if (p.mode == "std" || strings.HasPrefix(p.mode, "std+")) && !slices.Contains(stdModes, p.mode) {
			stdModes = append(stdModes, p.mode)
		}
	}
	for _, p := range ps {
		ratio, cpuRatio, p99Ratio, rssRatio := "-", "-", "-", "-"
		base, ok := byKey[key{p.work, baselineMode(p.mode, stdModes), p.size, p.conns}]
		if ok && base.rps > 0 {
			ratio = fmt.Sprintf("%.2fx", p.rps/base.rps)
			cpuRatio = fmt.Sprintf("%.2fx", p.cpuPerOp/base.cpuPerOp)
			if base.p99 > 0 {
				p99Ratio = fmt.Sprintf("%.2fx", p.p99/base.p99)
			}
			if base.rssMiB > 0 {
				rssRatio = fmt.Sprintf("%.2fx", p.rssMiB/base.rssMiB)
			}
		}
		enters := "-"
		if p.entersPerOp > 0 {
			enters = fmt.Sprintf("%.2f", p.entersPerOp)
		}
		fmt.Fprintf(out, "%-5s %-*s %6d %6d %12.0f %8.0f %8.0f %8.0f %10.2f %9s %9s %9s %11s %9.3f %8.1f %8s %11.2f %11.2f\n",
			p.work, w, p.mode, p.size, p.conns, p.rps, p.p50, p.p99, p.p999, p.cpuPerOp, ratio, cpuRatio, p99Ratio, enters, p.switchesPerOp,
			p.rssMiB, rssRatio, p.loadPerOp, p.idlePerOp)
	}
}

// baselineMode picks, among the std modes run, the one mode is compared
// with: the std mode whose environment settings mode has too, the most of
// them ("uring+GOMAXPROCS=4+URINGNET_YIELD=0" against "std+GOMAXPROCS=4"
// when that ran), else plain "std".
func baselineMode(mode string, stdModes []string) string {
	have := map[string]bool{}
	for _, e := range strings.Split(mode, "+")[1:] {
		have[e] = true
	}
	best, most := "std", 0
	for _, m := range stdModes {
		envs := strings.Split(m, "+")[1:]
		all := true
		for _, e := range envs {
			all = all && have[e]
		}
		if all && len(envs) > most {
			best, most = m, len(envs)
		}
	}
	return best
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(addr string) error {
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server on %s did not come up", addr)
}
