package uringnet

import (
	"fmt"
	"io"
	"net"
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

// The goroutines a pass wakes run before the loop takes its requests, so
// that their Writes go out in the io_uring_enter that waits for the next
// batch. With the yield after the requests were taken, the replies sat out
// the whole batch wait (the peers wait for exactly those replies): about
// two rounds of three of 32 conns took a wait of 250 ms. Now a round still
// waits when the loop comes back before every woken goroutine has written
// (0 to 4 waits in 60 rounds).
func TestWokenWritesGoOutWithTheBatchWait(t *testing.T) {
	t.Setenv("URINGNET_BATCH_USEC", "250000")
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the woken goroutines all run in the loop's yield
	const rounds = 60
	// 16 batch waits: with the yield after the requests were taken there
	// were 40 to 46 (10-11.6 s), now 0 to 4.
	if took := echoRounds(t, &ListenConfig{Rings: 1, DirectReadConns: -1}, 32, rounds); took > 4*time.Second {
		t.Fatalf("%d rounds of 32 conns reading through the ring took %v: replies waited for the batch", rounds, took)
	}
}

// echoRounds serves echo on a listener with cfg and returns how long conns
// clients take for rounds round trips of 64 bytes each, all at once.
func echoRounds(t *testing.T, cfg *ListenConfig, conns, rounds int) time.Duration {
	t.Helper()
	ln := newTestListener(t, cfg)
	go serveEcho(ln)
	var cs []net.Conn
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cs = append(cs, c)
	}
	start := time.Now()
	errs := make(chan error, conns)
	for _, c := range cs {
		go func() {
			msg, back := make([]byte, 64), make([]byte, 64)
			for r := 0; r < rounds; r++ {
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, back); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	within(t, time.Minute, "the rounds", func() {
		for range cs {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
	return time.Since(start)
}
