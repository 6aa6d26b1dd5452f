package uringnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uringnet/uringnet/go/internal/shim"
)

func TestDialEcho(t *testing.T) {
	requireUring(t)
	for _, tc := range []struct{ network, address string }{
		{"tcp", "127.0.0.1:0"},
		{"tcp6", "[::1]:0"},
		{"unix", filepath.Join(t.TempDir(), "d.sock")},
	} {
		t.Run(tc.network, func(t *testing.T) {
			std, err := net.Listen(tc.network, tc.address)
			if err != nil {
				t.Skipf("SKIP: %s unavailable here: %v", tc.network, err)
			}
			defer std.Close()
			go serveEcho(std)
			c, err := (&Dialer{Require: true, Timeout: 5 * time.Second}).Dial(tc.network, std.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, ok := c.(*Conn); !ok {
				t.Fatalf("Dial returned %T", c)
			}
			if tc.network != "unix" {
				var nodelay int
				c.(*Conn).withFD("test", func(fd int) error {
					nodelay, _ = syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
					return nil
				})
				if nodelay == 0 {
					t.Fatal("dialed conn has TCP_NODELAY off; package net's default is on")
				}
			}
			if c.RemoteAddr().String() != std.Addr().String() {
				t.Fatalf("RemoteAddr %v, want %v", c.RemoteAddr(), std.Addr())
			}
			msg := make([]byte, 300<<10)
			for i := range msg {
				msg[i] = byte(i)
			}
			go c.Write(msg)
			got := make([]byte, len(msg))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != msg[i] {
					t.Fatalf("byte %d differs", i)
				}
			}
		})
	}
}

// pingEcho writes "ping" on c and fails t unless an echo server sends it
// back within 10 s.
func pingEcho(t *testing.T, c net.Conn) {
	t.Helper()
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("%q %v", buf, err)
	}
}

// uring on both ends: a uringnet client talking to a uringnet server.
func TestDialToUringListener(t *testing.T) {
	ln := newTestListener(t, nil)
	go serveEcho(ln)
	for i := 0; i < 20; i++ {
		c, err := Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		pingEcho(t, c)
		c.Close()
	}
}

func TestDialErrors(t *testing.T) {
	requireUring(t)
	// A port nobody listens on: refused, as with package net.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err := Dial("tcp", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: %v", err)
	}
	checkOpError(t, err, "dial", nil)
	_, err = (&Dialer{Timeout: time.Nanosecond}).Dial("tcp", "127.0.0.1:9")
	if err == nil {
		t.Fatal("a 1ns timeout succeeded")
	}
}

// stdEchoServer serves echo with package net, so that the process has no
// uringnet listener whose rings Dial would share.
func stdEchoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serveEcho(ln)
	return ln.Addr().String()
}

// dialPinged dials n conns to addr, checks that each echoes, and counts
// them per ring.
func dialPinged(t *testing.T, addr string, n int) ([]net.Conn, map[*ring]int) {
	t.Helper()
	perRing := map[*ring]int{}
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c, err := Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		perRing[c.(*Conn).c.r]++
		pingEcho(t, c)
	}
	return conns, perRing
}

// With no listener to share, a dial ring goes away with its last conn, and
// a later Dial starts another.
func TestDialRingLifetime(t *testing.T) {
	requireUring(t)
	addr := stdEchoServer(t)
	for round := 0; round < 3; round++ {
		conns, _ := dialPinged(t, addr, 1)
		if shim.LiveRings() < 1 {
			t.Fatal("a dialed conn is open and no ring is live")
		}
		conns[0].Close()
		waitFor(t, 10*time.Second, "dial ring released", func() bool { return shim.LiveRings() == 0 })
	}
}

// Dialed conns spread over as many rings as a listener's default, round
// robin, and every dial ring goes away with its conns.
func TestDialRingsFollowGOMAXPROCS(t *testing.T) {
	requireUring(t)
	addr := stdEchoServer(t)
	pretendCPUs(t, 4)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // 3 rings
	conns, rings := dialPinged(t, addr, 6)
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	defer closeAll() // after a Fatal too, so that later tests' ring counts hold
	if len(rings) != 3 {
		t.Fatalf("6 dialed conns on %d rings, want 3", len(rings))
	}
	for _, n := range rings {
		if n != 2 {
			t.Fatalf("conns per ring %v, want 2 each", rings)
		}
	}
	closeAll()
	waitFor(t, 10*time.Second, "dial rings released", func() bool { return shim.LiveRings() == 0 })
}

// Dialed conns ride the rings of an open listener with the default ring
// settings, round robin over them, and start no ring of their own (a
// proxy's two sides share loops). A listener with other settings is not
// shared, and once the listener closes Dial goes back to dial rings.
func TestDialSharesListenerRings(t *testing.T) {
	requireUring(t)
	addr := stdEchoServer(t)
	other := newTestListener(t, &ListenConfig{BufferCount: 64}) // not shareable: other ring settings
	ln := newTestListener(t, &ListenConfig{Rings: 2, KeepAlive: time.Minute})
	onRing := func(c net.Conn, rs []*ring) bool {
		for _, r := range rs {
			if c.(*Conn).c.r == r {
				return true
			}
		}
		return false
	}
	conns, count := dialPinged(t, addr, 4)
	for i, c := range conns {
		if !onRing(c, ln.l.rings()) {
			t.Fatalf("dialed conn %d is not on the open listener's rings", i)
		}
		if onRing(c, other.l.rings()) {
			t.Fatalf("dialed conn %d is on a ring with other settings", i)
		}
	}
	if len(count) != 2 {
		t.Fatalf("4 dialed conns on %d of the listener's 2 rings, want both", len(count))
	}
	ln.Close()
	after, _ := dialPinged(t, addr, 1)
	c := after[0]
	if onRing(c, ln.l.rings()) || onRing(c, other.l.rings()) {
		t.Fatal("a conn dialed after the listener closed is on a listener's ring")
	}
	c.Close()
	for _, c := range conns { // still served by the closed listener's rings
		pingEcho(t, c)
		c.Close()
	}
}

func TestDialFallback(t *testing.T) {
	t.Setenv(EnvVar, "off")
	std, _ := net.Listen("tcp", "127.0.0.1:0")
	defer std.Close()
	c, err := Dial("tcp", std.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.TCPConn); !ok {
		t.Fatalf("with URINGNET=off Dial returned %T", c)
	}
	_, err = (&Dialer{Require: true}).Dial("tcp", std.Addr().String())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Require with URINGNET=off: %v", err)
	}
}

// Dials racing the close of the listener whose rings they share each land
// on a live ring (the listener's, or a dial ring once it is gone) and work;
// afterwards every ring is released.
func TestDialWhileSharedListenerCloses(t *testing.T) {
	requireUring(t)
	addr := stdEchoServer(t)
	pretendCPUs(t, 3)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // the listener gets 2 rings
	ln := newTestListener(t, nil)
	// A conn costs five descriptors: its own, its direct reader's dup, the
	// echo server's and the two of the pipe its io.Copy splices through.
	const dialers = 8
	each := connsThatFit(t, dialers*25, 5) / dialers
	errs := make(chan error, dialers)
	var conns sync.Map
	defer conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true }) // after a Fatal
	var wg sync.WaitGroup
	for d := 0; d < dialers; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				c, err := Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				conns.Store(c, true)
				if _, err := c.Write([]byte("ping")); err != nil {
					errs <- err
					return
				}
				buf := make([]byte, 4)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
					errs <- fmt.Errorf("echo %q, %v", buf, err)
					return
				}
			}
		}()
	}
	time.Sleep(time.Millisecond)
	ln.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
	waitFor(t, 10*time.Second, "every ring released", func() bool { return shim.LiveRings() == 0 })
}

// Dialer.Control, Resolver and Deadline reach package net's dial: Control
// sees the socket before connect, and its error fails Dial with it; a
// Deadline in the past times the dial out.
func TestDialControl(t *testing.T) {
	requireUring(t)
	addr := stdEchoServer(t)
	var calls int
	d := &Dialer{Require: true, Resolver: &net.Resolver{PreferGo: true}, Control: func(network, address string, c syscall.RawConn) error {
		calls++
		return nil
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*Conn); !ok {
		t.Fatalf("Dial returned %T, want *Conn", c)
	}
	pingEcho(t, c)
	c.Close()
	if calls != 1 {
		t.Fatalf("Control called %d times, want 1", calls)
	}
	refuse := errors.New("refused by Control")
	d.Control = func(string, string, syscall.RawConn) error { return refuse }
	if _, err := d.Dial("tcp", addr); !errors.Is(err, refuse) {
		t.Fatalf("Dial with a failing Control: %v, want it to wrap %v", err, refuse)
	}
	past := &Dialer{Require: true, Deadline: time.Now().Add(-time.Second)}
	var ne net.Error
	if _, err := past.Dial("tcp", addr); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Dial with a Deadline in the past: %v, want a timeout", err)
	}
}

// FileConn serves a connected socket handed over as a file through
// io_uring, as net.FileConn would: the peer's bytes come through, Close
// leaves the file open, and without io_uring it returns package net's conn
// (datagram sockets: TestNonStreamNetworksGoToPackageNet).
func TestFileConn(t *testing.T) {
	requireUring(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serveEcho(ln)
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	f, err := nc.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*Conn); !ok {
		t.Fatalf("FileConn returned %T, want *Conn", c)
	}
	for i := 0; i < 3; i++ {
		pingEcho(t, c)
	}
	c.Close()
	if again, err := net.FileConn(f); err != nil {
		t.Fatalf("the file after the uringnet conn closed: %v", err)
	} else {
		again.Close()
	}

	t.Setenv(EnvVar, "off")
	std, err := FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	std.Close()
	if _, ok := std.(*net.TCPConn); !ok {
		t.Fatalf("with URINGNET=off FileConn returned %T", std)
	}
}
