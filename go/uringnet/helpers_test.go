package uringnet

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// requireUring skips the test (visibly) when io_uring cannot be used here.
func requireUring(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
}

// readsOnRing makes listeners created after it serve every Read through the
// ring's recv, for tests of the ring's own read path (buffer pool, recv
// backpressure). By default a test's few conns would read directly.
func readsOnRing(t *testing.T) {
	t.Setenv("URINGNET_DIRECT_CONNS", "0")
}

// readsDirect makes listeners created after it read directly at light load,
// as by default, also in the test pass that turns that off.
func readsDirect(t *testing.T) {
	t.Setenv("URINGNET_DIRECT_CONNS", "32")
	t.Setenv("URINGNET_LONE_USEC", "0") // direct reads wait in the netpoller; lone_test.go has the lone waits
}

// readTimesOut reads from s and requires the read deadline's error, no
// sooner than earliest and no later than latest after start.
func readTimesOut(t *testing.T, s net.Conn, start time.Time, earliest, latest time.Duration) {
	t.Helper()
	_, err := s.Read(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: %v, want a timeout", err)
	}
	if el := time.Since(start); el < earliest || el > latest {
		t.Fatalf("timed out after %v, want %v to %v", el, earliest, latest)
	}
}

// newTestListener returns a uring listener on loopback, closed at test end.
func newTestListener(t testing.TB, cfg *ListenConfig) *Listener {
	t.Helper()
	requireUring(t)
	if cfg == nil {
		cfg = &ListenConfig{}
	}
	cfg.Require = true
	ln, err := cfg.Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*Listener)
}

// pair returns a connected (server *Conn, client net.Conn) through ln.
func pair(t testing.TB, ln *Listener) (*Conn, net.Conn) {
	t.Helper()
	return pairDialed(t, ln, &net.Dialer{})
}

// pairDialed is pair with the client dialed by d.
func pairDialed(t testing.TB, ln *Listener, d *net.Dialer) (*Conn, net.Conn) {
	t.Helper()
	s, cl := acceptDialed(t, ln, func(network, address string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		return d.DialContext(ctx, network, address)
	})
	return s.(*Conn), cl
}

type dialFunc func(network, address string) (net.Conn, error)

// acceptDialed returns the conn ln accepts from a client dialed by dial,
// and that client, for any listener (uringnet's or package net's) and any
// dialer. Both close at the test's end.
func acceptDialed(t testing.TB, ln net.Listener, dial dialFunc) (net.Conn, net.Conn) {
	t.Helper()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	cl, err := dial(ln.Addr().Network(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var a accepted
	select {
	case a = <-ch:
	case <-time.After(10 * time.Second):
		cl.Close()
		t.Fatal("accept timed out")
	}
	if a.err != nil {
		cl.Close()
		t.Fatal(a.err)
	}
	t.Cleanup(func() { a.c.Close(); cl.Close() })
	return a.c, cl
}

// expectEchoes serves echo on ln and checks that a new client's ping comes
// back: the listener (and its ring) still serve.
func expectEchoes(t *testing.T, ln net.Listener) {
	t.Helper()
	go serveEcho(ln)
	c, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pingEcho(t, c)
}

// within runs fn and fails the test if it does not return within d.
func within(t testing.TB, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		t.Fatalf("%s did not finish within %v\n%s", what, d, buf[:runtime.Stack(buf, true)])
	}
}

// endedBy runs call, which blocks until end (run 50 ms in) ends it, and
// checks that it returned within 10 s with op's *net.OpError wrapping
// target.
func endedBy(t *testing.T, what string, end func(), call func() error, op string, target error) {
	t.Helper()
	time.AfterFunc(50*time.Millisecond, end)
	var err error
	within(t, 10*time.Second, what, func() { err = call() })
	checkOpError(t, err, op, target)
}

// checkOpError asserts err is a *net.OpError for op whose cause matches target.
func checkOpError(t testing.TB, err error, op string, target error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not a *net.OpError", err, err)
	}
	if oe.Op != op {
		t.Fatalf("OpError.Op = %q, want %q (%v)", oe.Op, op, err)
	}
	if target != nil && !errors.Is(err, target) {
		t.Fatalf("error %v does not wrap %v", err, target)
	}
}

// expectChunksBack waits until every conn of ln is torn down (only the
// listener is left) and checks that they gave all outbox chunks back.
func expectChunksBack(t *testing.T, ln *Listener) {
	t.Helper()
	within(t, 20*time.Second, "teardown of the closed conns", func() {
		for ln.Stats().Endpoints > 1 {
			time.Sleep(10 * time.Millisecond)
		}
	})
	if n := ln.l.r.chunks.chunksInUse(); n != 0 {
		t.Fatalf("%d outbox chunks still held after every conn was torn down", n)
	}
}

var bg = context.Background()
