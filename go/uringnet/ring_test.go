package uringnet

import (
	"runtime"
	"testing"
	"time"
)

// The loop yields after a pass that woke cfg.yieldWoken waiters, and after
// one that woke a single waiter when the process's loops fill its P's
// (shouldYield); never with yieldWoken 0.
func TestYieldWhenLoopsFillProcs(t *testing.T) {
	newTestListener(t, &ListenConfig{Rings: 1}) // at least one loop runs
	loops := int(runningLoops.Load())
	if loops < 1 {
		t.Fatalf("runningLoops = %d with a listener open", loops)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(loops + 4))
	for _, tc := range []struct {
		procs, yieldWoken, woken int
		want                     bool
	}{
		{loops + 4, 2, 1, false}, // a P is idle: it takes the one woken goroutine
		{loops + 4, 2, 2, true},
		{loops, 2, 1, true}, // every P may be held by a sleeping loop
		{loops, 0, 5, false},
		{loops + 4, 1, 1, true},
	} {
		runtime.GOMAXPROCS(tc.procs)
		r := &ring{cfg: settings{yieldWoken: tc.yieldWoken}} // re-reads GOMAXPROCS on its first decision
		if got := r.shouldYield(tc.woken); got != tc.want {
			t.Errorf("GOMAXPROCS %d (%d loops), yieldWoken %d, woken %d: shouldYield = %v, want %v",
				tc.procs, loops, tc.yieldWoken, tc.woken, got, tc.want)
		}
	}
}

// At GOMAXPROCS 1 the one P is shared by the loop and every conn's
// goroutine: many conns echo to the end, with Reads on the ring (where the
// loop wakes them) and directly.
func TestEchoAtGOMAXPROCS1(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, mode := range []struct {
		name   string
		onRing bool
	}{{"ring", true}, {"direct", false}} {
		t.Run(mode.name, func(t *testing.T) {
			if mode.onRing {
				readsOnRing(t)
			} else {
				readsDirect(t)
			}
			ln := newTestListener(t, nil)
			go serveEcho(ln)
			within(t, 60*time.Second, "50 conns echoing at GOMAXPROCS 1", func() {
				errs := make(chan error, 50)
				for i := 0; i < 50; i++ {
					go func(i int) { errs <- echoCheck(ln.Addr().String(), 64<<10, int64(i)) }(i)
				}
				for i := 0; i < 50; i++ {
					if err := <-errs; err != nil {
						t.Error(err)
					}
				}
			})
		})
	}
}
