package loadresult

import (
	"bytes"
	"encoding/json"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	// 1..1000 µs in two groups, out of order.
	var a, b []uint32
	for v := uint32(1000); v >= 1; v-- {
		if v%2 == 0 {
			a = append(a, v)
		} else {
			b = append(b, v)
		}
	}
	var out bytes.Buffer
	if err := Write(&out, [][]uint32{a, b}, 2, 3); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	want := Result{Ops: 1000, Seconds: 2, P50: 500, P99: 990, P999: 999, Errors: 3}
	if r != want {
		t.Fatalf("got %+v, want %+v", r, want)
	}
	out.Reset()
	if err := Write(&out, nil, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Ops != 0 || r.P99 != 0 {
		t.Fatalf("no round trips: %q, %v", out.String(), err)
	}
}

func TestWindow(t *testing.T) {
	var measuring, done atomic.Bool
	var out bytes.Buffer
	seen := make(chan bool, 1)
	go func() { // polls until the window opens or ends
		for !measuring.Load() && !done.Load() {
			runtime.Gosched()
		}
		seen <- measuring.Load()
	}()
	secs := Window(&out, 20*time.Millisecond, 500*time.Millisecond, &measuring)
	done.Store(true)
	if out.String() != "start\nstop\n" {
		t.Fatalf("printed %q", out.String())
	}
	if secs < 0.5 || secs > 30 {
		t.Fatalf("measured %.3f s of a 0.5 s window", secs)
	}
	if !<-seen {
		t.Fatal("measuring never set during the window")
	}
	if measuring.Load() {
		t.Fatal("measuring left set after the window")
	}
}
