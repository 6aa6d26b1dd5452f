// Package loadresult is the protocol of cmd/uringbench's load generators:
// they print "start" and "stop" around the measured window (the parent
// reads the server's CPU time there), then one line of JSON with the round
// trips of that window and their latency quantiles. cmd/uringload (C)
// prints the same; tests/grpc/cmd/grpcbench uses this package too.
package loadresult

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"time"
)

// Window waits out the warm-up, then prints "start", sets measuring for
// dur, prints "stop", and returns the seconds measured.
func Window(w io.Writer, warm, dur time.Duration, measuring *atomic.Bool) float64 {
	time.Sleep(warm)
	fmt.Fprintln(w, "start")
	measuring.Store(true)
	start := time.Now()
	time.Sleep(dur)
	measuring.Store(false)
	elapsed := time.Since(start).Seconds()
	fmt.Fprintln(w, "stop")
	return elapsed
}

// Result is one run's report.
type Result struct {
	Ops      int64   `json:"ops"`
	Seconds  float64 `json:"seconds"`
	P50, P99 float64 // microseconds
	P999     float64
	Errors   int64 `json:"errors"`
}

// Write reports the round trips whose latencies (µs, in any order, any
// grouping) are lat, measured over seconds, as one JSON line.
func Write(w io.Writer, lat [][]uint32, seconds float64, errors int64) error {
	var all []uint32
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))])
	}
	return json.NewEncoder(w).Encode(Result{Ops: int64(len(all)), Seconds: seconds,
		P50: q(0.50), P99: q(0.99), P999: q(0.999), Errors: errors})
}
