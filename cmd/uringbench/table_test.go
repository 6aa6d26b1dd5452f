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
			run: run{rps: rps, p50: 1, p99: p99, p999: 1, cpuPerOp: cpu, rssMiB: 2 * cpu}}
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
	want := map[string]string{ // mode: rps/std CPU/std p99/std RSS/std (RSS is 2 x CPU here)
		"std":                                 "1.00x 1.00x 1.00x 1.00x",
		"uring":                               "1.50x 0.60x 0.50x 0.60x",
		"std+GOMAXPROCS=4":                    "1.00x 1.00x 1.00x 1.00x",
		"uring+GOMAXPROCS=4":                  "1.50x 0.75x 0.50x 0.75x",
		"uring+GOMAXPROCS=4+URINGNET_YIELD=0": "0.50x 1.50x 1.50x 1.50x",
		"uring+URINGNET_YIELD=0":              "0.50x 2.00x 2.00x 2.00x",
		"c":                                   "2.00x 0.50x 0.25x 0.50x",
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.Contains(lines[0], "p99/std") || !strings.HasSuffix(lines[0], "RSS/std") {
		t.Fatalf("header has no p99/std or RSS/std: %q", lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		got := strings.Join(append(f[9:12], f[len(f)-1]), " ")
		if w, ok := want[f[1]]; !ok || got != w {
			t.Errorf("%s: ratios %q, want %q", f[1], got, w)
		}
		delete(want, f[1])
	}
	if len(want) > 0 {
		t.Errorf("rows missing: %v", want)
	}
}
