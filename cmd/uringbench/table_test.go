package main

import (
	"bytes"
	"strings"
	"testing"
)

// Each row's ratios are against the std run with the most of its
// environment settings, else plain std; p99 and RSS have ratios of their own.
func TestTableRatios(t *testing.T) {
	at := func(mode string, rps, p99, cpu float64) point {
		return point{work: "echo", mode: mode, conns: 100, size: 64,
			run: run{rps: rps, p50: 1, p99: p99, p999: 1, cpuPerOp: cpu, rssMiB: 2 * cpu, loadPerOp: 3 * cpu, idlePerOp: 0.5}}
	}
	var out bytes.Buffer
	printTable(&out, []point{
		at("std", 100, 1000, 10),
		at("uring", 150, 500, 6),
		at("std+GOMAXPROCS=4", 80, 2000, 12),
		at("uring+GOMAXPROCS=4", 120, 1000, 9),
		at("uring+GOMAXPROCS=4+URINGNET_YIELD=0", 40, 3000, 18),
		at("uring+URINGNET_YIELD=0", 50, 2000, 20),
		at("c", 200, 250, 5),
	})
	want := map[string]string{ // mode: rps/std CPU/std p99/std RSS/std (RSS is 2 x CPU here), load and idle µs/op
		"std":                                 "1.00x 1.00x 1.00x 1.00x 30.00 0.50",
		"uring":                               "1.50x 0.60x 0.50x 0.60x 18.00 0.50",
		"std+GOMAXPROCS=4":                    "1.00x 1.00x 1.00x 1.00x 36.00 0.50",
		"uring+GOMAXPROCS=4":                  "1.50x 0.75x 0.50x 0.75x 27.00 0.50",
		"uring+GOMAXPROCS=4+URINGNET_YIELD=0": "0.50x 1.50x 1.50x 1.50x 54.00 0.50",
		"uring+URINGNET_YIELD=0":              "0.50x 2.00x 2.00x 2.00x 60.00 0.50",
		"c":                                   "2.00x 0.50x 0.25x 0.50x 15.00 0.50",
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// Columns by their headers ("µs/op" and "MiB" are the second word of
	// theirs, and the rows have one field per column).
	head := strings.Fields(strings.NewReplacer("round trip/s", "rps", " µs/op", "_us/op", " µs", "_us", " MiB", "_MiB").Replace(lines[0]))
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	checked := []string{"rps/std", "CPU/std", "p99/std", "RSS/std", "load_us/op", "idle_us/op"} // want's columns
	for _, h := range checked {
		if _, ok := col[h]; !ok {
			t.Fatalf("header has no %s: %q", h, lines[0])
		}
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != len(head) {
			t.Fatalf("%d fields under %d headers: %q", len(f), len(head), l)
		}
		var picked []string
		for _, h := range checked {
			picked = append(picked, f[col[h]])
		}
		got := strings.Join(picked, " ")
		if w, ok := want[f[1]]; !ok || got != w {
			t.Errorf("%s: ratios %q, want %q", f[1], got, w)
		}
		delete(want, f[1])
	}
	if len(want) > 0 {
		t.Errorf("rows missing: %v", want)
	}
}
