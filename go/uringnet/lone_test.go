package uringnet

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// lonely sets up lone waits with slices of sliceUsec and an idle limit of
// idleMS, and skips the test unless the process has 2 P's for them.
func lonely(t *testing.T, sliceUsec, idleMS string) {
	loneSettings(t, sliceUsec, idleMS)
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("SKIP: lone waits need GOMAXPROCS >= 2")
	}
	loneProcs.Store(0)
}

// loneSettings sets up lone waits with slices of sliceUsec and an idle
// limit of idleMS.
func loneSettings(t *testing.T, sliceUsec, idleMS string) {
	t.Setenv("URINGNET_DIRECT_CONNS", "32")
	t.Setenv("URINGNET_LONE_USEC", sliceUsec)
	t.Setenv("URINGNET_LONE_IDLE_MS", idleMS)
}

// errWithin returns what ch delivers, failing the test if nothing comes
// within 10 s.
func errWithin(t *testing.T, ch <-chan error, what string) (err error) {
	t.Helper()
	within(t, 10*time.Second, what, func() { err = <-ch })
	return err
}

// inLoneWait waits until c's Read is in the lone wait.
func inLoneWait(t *testing.T, c *conn) {
	t.Helper()
	waitFor(t, 10*time.Second, "the Read waits in ppoll", func() bool { return loneWaiter.Load() == c })
}

// A lone busy conn reads without the netpoller: it never makes its
// directReader, and the ring sees none of its recvs.
func TestLoneConnReadsWithoutNetpoller(t *testing.T) {
	lonely(t, "1000", "10000")
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	before := ln.Stats().CQEs
	roundTrips(t, s, cl, 200)
	if direct, hasReader := connMode(s.c); !direct || hasReader {
		t.Fatalf("direct=%v reader=%v after round trips on the one busy conn", direct, hasReader)
	}
	if n := ln.Stats().CQEs - before; n > 10 {
		t.Fatalf("ring reaped %d CQEs for 200 lone reads", n)
	}
	// The peer's close ends a lone wait with EOF.
	done := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 8)); done <- err }()
	inLoneWait(t, s.c)
	cl.Close()
	if err := errWithin(t, done, "Read after the peer closed"); err != io.EOF {
		t.Fatalf("Read after the peer closed: %v, want io.EOF", err)
	}
}

// Close and SetReadDeadline from another goroutine end a lone wait at once,
// not when its slice (here 20 s) ends, and the conn then parks in the
// netpoller (it is used from two goroutines at once).
func TestLoneWaitEndsOnCloseAndDeadline(t *testing.T) {
	lonely(t, "20000000", "60000")
	for _, how := range []string{"Close", "SetReadDeadline"} {
		// A listener each: the first conn's Reads would count as a second
		// busy conn on a shared ring for a while.
		s, cl := pair(t, newTestListener(t, nil))
		roundTrips(t, s, cl, 5)
		done := make(chan error, 1)
		go func() { _, err := s.Read(make([]byte, 8)); done <- err }()
		inLoneWait(t, s.c)
		start := time.Now()
		want := net.ErrClosed
		if how == "Close" {
			s.Close()
		} else {
			s.SetReadDeadline(time.Now().Add(-time.Second))
			want = os.ErrDeadlineExceeded
		}
		select {
		case err := <-done:
			if !errors.Is(err, want) {
				t.Fatalf("%s: Read returned %v, want %v", how, err, want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("%s: Read returned after %v: the wait ran to its slice", how, d)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: Read still waiting", how)
		}
		if how == "SetReadDeadline" {
			s.SetReadDeadline(time.Time{})
			roundTrips(t, s, cl, 5)
			if _, hasReader := connMode(s.c); !hasReader {
				t.Fatal("after the kick, Reads should wait in the netpoller")
			}
			s.Close()
		}
	}
}

// A read deadline set before the Read bounds the lone wait.
func TestLoneWaitDeadline(t *testing.T) {
	lonely(t, "20000000", "60000")
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	roundTrips(t, s, cl, 5)
	s.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	readTimesOut(t, s, time.Now(), 150*time.Millisecond, 5*time.Second)
	if _, hasReader := connMode(s.c); hasReader {
		t.Fatal("the deadline's wait went to the netpoller, not ppoll")
	}
}

// One lone wait at a time in the process: a second lone conn (on another
// ring) waits in the netpoller, and both get their bytes.
func TestLoneWaitOneAtATime(t *testing.T) {
	lonely(t, "1000", "60000")
	a, b := newTestListener(t, nil), newTestListener(t, nil)
	sa, ca := pair(t, a)
	sb, cb := pair(t, b)
	roundTrips(t, sa, ca, 5)
	da := make(chan error, 1)
	go func() { _, err := io.ReadFull(sa, make([]byte, 4)); da <- err }()
	inLoneWait(t, sa.c)
	db := make(chan error, 1)
	go func() { _, err := io.ReadFull(sb, make([]byte, 4)); db <- err }()
	waitFor(t, 10*time.Second, "the second conn waits in the netpoller", func() bool {
		_, hasReader := connMode(sb.c)
		return hasReader
	})
	cb.Write([]byte("pong"))
	if err := errWithin(t, db, "the second conn's Read"); err != nil {
		t.Fatal(err)
	}
	ca.Write([]byte("ping"))
	if err := errWithin(t, da, "the lone Read"); err != nil {
		t.Fatal(err)
	}
}

// With one P a thread waiting in the kernel would hold the only P: no lone
// waits then.
func TestNoLoneWaitAtGOMAXPROCS1(t *testing.T) {
	loneSettings(t, "1000", "60000")
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	loneProcs.Store(0)
	defer loneProcs.Store(0)
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	roundTrips(t, s, cl, 20)
	if direct, hasReader := connMode(s.c); !direct || !hasReader {
		t.Fatalf("direct=%v reader=%v at GOMAXPROCS 1: want the netpoller", direct, hasReader)
	}
}

// loneTrial measures lone waits against the netpoller in alternating windows
// and keeps lone waits unless the netpoller costs under 3/5 as much; the
// verdict holds for holdReads Reads, then it measures again. Another conn
// starts over.
func TestLoneTrialVerdicts(t *testing.T) {
	var tr trial
	var clock int64
	cpu := func() int64 { return clock }
	// run makes n Reads of c, each costing lone or poll units of CPU in the
	// mode the trial picked, and counts the Reads that waited lone.
	run := func(c *conn, n int, lone, poll int64) (lones int) {
		for i := 0; i < n; i++ {
			if tr.lonePays(c, cpu) {
				lones++
				clock += lone
			} else {
				clock += poll
			}
		}
		return lones
	}
	a, b := &conn{}, &conn{}
	measure := trialRounds * trialReads

	// Measuring: lone and netpoller windows in turn, half the Reads each.
	if got := run(a, trialReads, 3, 1); got != trialReads {
		t.Fatalf("first window: %d of %d Reads lone, want all", got, trialReads)
	}
	if got := run(a, trialReads, 3, 1); got != 0 {
		t.Fatalf("second window: %d Reads lone, want none", got)
	}
	run(a, measure-2*trialReads, 3, 1)
	// The netpoller cost a third: it is kept for the hold.
	if got := run(a, holdReads, 3, 1); got != 0 {
		t.Fatalf("netpoller 3x cheaper: %d of %d held Reads lone, want none", got, holdReads)
	}
	// Then it measures again; now the two cost the same: lone waits stay.
	if got := run(a, measure, 2, 2); got != measure/2 {
		t.Fatalf("second measurement: %d of %d Reads lone, want half", got, measure)
	}
	if got := run(a, holdReads, 2, 2); got != holdReads {
		t.Fatalf("equal costs: %d of %d held Reads lone, want all", got, holdReads)
	}
	// A netpoller at 2/3 of the cost is not enough (under 3/5 is).
	run(a, measure, 3, 2)
	if got := run(a, 100, 3, 2); got != 100 {
		t.Fatalf("netpoller at 2/3 the cost: %d of 100 Reads lone, want all", got)
	}
	// Another conn starts with a measurement of its own.
	if got := run(b, trialReads, 1, 1); got != trialReads {
		t.Fatalf("new conn's first window: %d of %d Reads lone, want all", got, trialReads)
	}
	if got := run(b, trialReads, 1, 1); got != 0 {
		t.Fatalf("new conn's second window: %d Reads lone, want none", got)
	}
}
