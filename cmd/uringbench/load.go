package main

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what one load run reports (as JSON on stdout).
type loadResult struct {
	Ops      int64   `json:"ops"`
	Seconds  float64 `json:"seconds"`
	P50, P99 float64 // microseconds
	P999     float64
	Errors   int64 `json:"errors"`
}

// runLoad is the load generator: conns connections, each a closed loop of
// write size bytes, read the whole echo. It runs in its own process (package
// net's epoll poller, many goroutines), warms up for warm, then measures for
// dur, and prints a loadResult.
func runLoad(addr string, conns, size int, warm, dur time.Duration) {
	var measuring atomic.Bool
	var stop atomic.Bool
	var errs atomic.Int64
	lat := make([][]uint32, conns) // µs per round trip, per conn
	var wg sync.WaitGroup
	msg := make([]byte, size)
	for i := 0; i < conns; i++ {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			errs.Add(1)
			continue
		}
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			defer c.Close()
			buf := make([]byte, size)
			for !stop.Load() {
				t0 := time.Now()
				if _, err := c.Write(msg); err != nil {
					errs.Add(1)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					errs.Add(1)
					return
				}
				if measuring.Load() {
					lat[i] = append(lat[i], uint32(time.Since(t0).Microseconds()))
				}
			}
		}(i, c)
	}
	time.Sleep(warm)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(dur)
	measuring.Store(false)
	elapsed := time.Since(start).Seconds()
	stop.Store(true)
	wg.Wait()
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
	json.NewEncoder(os.Stdout).Encode(loadResult{Ops: int64(len(all)), Seconds: elapsed,
		P50: q(0.50), P99: q(0.99), P999: q(0.999), Errors: errs.Load()})
}
