package uringnet

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// The loop yields after a pass that woke cfg.yieldWoken waiters, and after
// one that woke a single waiter when the loops that may hold a P (this one,
// and the others that finished a pass within holdWindow) are as many as the
// P's (shouldYield); never with yieldWoken 0. The other loops here are
// stand-ins in liveRings whose last pass is set by hand.
func TestYieldWhenLoopsFillProcs(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	decide := func(gomaxprocs, yieldWoken, woken int) bool {
		runtime.GOMAXPROCS(gomaxprocs)
		r := &ring{cfg: settings{yieldWoken: yieldWoken}} // re-reads GOMAXPROCS on its first decision
		trackRing(r, true)                                // a running loop, as the deciding one always is
		defer trackRing(r, false)
		return r.shouldYield(woken)
	}
	if !decide(1, 2, 1) {
		t.Error("GOMAXPROCS 1: one wake did not yield")
	}
	if decide(1, 0, 5) {
		t.Error("yieldWoken 0 yielded")
	}
	if !decide(64, 2, 2) {
		t.Error("two wakes did not yield")
	}

	busy, idle := &ring{}, &ring{}
	idle.lastPass.Store(sinceBase() - int64(time.Second))
	trackRing(idle, true)
	defer trackRing(idle, false)
	// Real rings of earlier tests may still be tearing down: a check counts
	// only if the number of loops that passed lately held still around it.
	settled := func(check func(base int) string) {
		t.Helper()
		for attempt := 0; attempt < 20; attempt++ {
			base := (&ring{}).loopsMayHoldPs() // this one and real rings that passed lately
			msg := check(base)
			if (&ring{}).loopsMayHoldPs() != base {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			if msg != "" {
				t.Error(msg)
			}
			return
		}
		t.Skip("SKIP: other rings kept changing state")
	}
	settled(func(base int) string {
		switch {
		case !decide(base, 2, 1):
			return fmt.Sprintf("%d loops may hold a P at GOMAXPROCS %d: one wake did not yield", base, base)
		case decide(base+1, 2, 1):
			return fmt.Sprintf("an idle loop was counted: one wake yielded at GOMAXPROCS %d", base+1)
		}
		return ""
	})
	settled(func(base int) string {
		trackRing(busy, true)
		defer trackRing(busy, false)
		busy.lastPass.Store(sinceBase())
		if !decide(base+1, 2, 1) {
			return fmt.Sprintf("a busy loop was not counted: one wake did not yield at GOMAXPROCS %d", base+1)
		}
		return ""
	})
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
					go func(i int) { errs <- echoCheck(ln.Addr(), 64<<10, int64(i)) }(i)
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
