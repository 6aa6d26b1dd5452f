package uringnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uringnet/uringnet/go/internal/shim"
)

func TestListenNetworks(t *testing.T) {
	requireUring(t)
	cases := []struct{ network, address string }{
		{"tcp", "127.0.0.1:0"},
		{"tcp4", "127.0.0.1:0"},
		{"tcp", "localhost:0"},
		{"tcp6", "[::1]:0"},
		{"unix", filepath.Join(t.TempDir(), "s.sock")},
	}
	for _, tc := range cases {
		t.Run(tc.network+"/"+tc.address, func(t *testing.T) {
			ln, err := (&ListenConfig{Require: true}).Listen(bg, tc.network, tc.address)
			if err != nil {
				if tc.network == "tcp6" {
					t.Skipf("SKIP: no IPv6 loopback: %v", err)
				}
				t.Fatal(err)
			}
			defer ln.Close()
			if _, ok := ln.(*Listener); !ok {
				t.Fatalf("Listen returned %T", ln)
			}
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				io.Copy(c, c)
			}()
			c, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("hi"))
			buf := make([]byte, 2)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
				t.Fatalf("echo: %q %v", buf, err)
			}
		})
	}
}

func TestUnixSocketRemovedOnClose(t *testing.T) {
	requireUring(t)
	path := filepath.Join(t.TempDir(), "u.sock")
	ln, err := (&ListenConfig{Require: true}).Listen(bg, "unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ln.Addr().(*net.UnixAddr); !ok {
		t.Fatalf("Addr is %T", ln.Addr())
	}
	ln.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left behind: %v", err)
	}
	ln2, err := (&ListenConfig{Require: true}).Listen(bg, "unix", path)
	if err != nil {
		t.Fatalf("re-listen on the same path: %v", err)
	}
	// A second Close of the first listener (a deferred Close after an
	// explicit one) leaves the new listener's socket file alone.
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a second Close of the old listener removed the new one's socket file: %v", err)
	}
	// SetUnlinkOnClose(false) keeps the file, as package net's does.
	ln2.(*Listener).SetUnlinkOnClose(false)
	ln2.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("socket file removed after SetUnlinkOnClose(false): %v", err)
	}
	os.Remove(path)
	// An abstract address has no file to remove.
	abs, err := (&ListenConfig{Require: true}).Listen(bg, "unix", "@uringnet-test-"+filepath.Base(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if l := abs.(*Listener).l; l.path != "" {
		t.Errorf("abstract listener would remove %q on Close", l.path)
	}
	abs.Close()
}

// A unix listener dropped without Close is closed by its finalizer, which
// leaves the socket file, as package net's: only Close removes it.
func TestDroppedUnixListenerKeepsItsFile(t *testing.T) {
	requireUring(t)
	path := filepath.Join(t.TempDir(), "dropped.sock")
	l := func() *listener {
		ln, err := (&ListenConfig{Require: true}).Listen(bg, "unix", path)
		if err != nil {
			t.Fatal(err)
		}
		return ln.(*Listener).l // the inner listener does not keep the public one
	}()
	waitFor(t, 10*time.Second, "the dropped listener closed by its finalizer", func() bool {
		runtime.GC()
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.closed
	})
	// Close removed the file just after marking the listener closed: give
	// that time to show.
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the finalizer removed the socket file: %v", err)
		}
	}
}

// Networks io_uring does not serve (datagrams, unix records, names package
// net does not know) get what package net gives them: its conns and
// listeners, or its errors, word for word. With Require they get an error
// naming the network instead.
func TestNonStreamNetworksGoToPackageNet(t *testing.T) {
	requireUring(t)
	// Dial "udp": package net's conn, and it works.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.UDPConn); !ok {
		t.Fatalf("Dial udp returned %T, want *net.UDPConn", c)
	}
	c.Write([]byte("datagram"))
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	if n, _, err := pc.ReadFrom(buf); err != nil || string(buf[:n]) != "datagram" {
		t.Fatalf("the datagram: %q %v", buf[:n], err)
	}

	// Listen "unixpacket": package net's listener, records kept apart.
	path := filepath.Join(t.TempDir(), "p.sock")
	ln, err := Listen("unixpacket", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, ok := ln.(*net.UnixListener); !ok {
		t.Fatalf("Listen unixpacket returned %T, want *net.UnixListener", ln)
	}
	s, cl := acceptDialed(t, ln, net.Dial)
	cl.Write([]byte("one"))
	cl.Write([]byte("two"))
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := s.Read(buf); err != nil || string(buf[:n]) != "one" {
		t.Fatalf("first record: %q %v", buf[:n], err)
	}

	// Inherited sockets of those kinds: package net's too.
	netsOwn := func(what string, got io.Closer, err error, want string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got.Close()
		if typ := fmt.Sprintf("%T", got); typ != want {
			t.Fatalf("%s returned %s, want %s", what, typ, want)
		}
	}
	uf, _ := pc.(*net.UDPConn).File()
	defer uf.Close()
	fc, err := FileConn(uf)
	netsOwn("FileConn on a UDP socket", fc, err, "*net.UDPConn")
	pf, _ := ln.(*net.UnixListener).File()
	defer pf.Close()
	fl, err := FileListener(pf)
	netsOwn("FileListener on a unixpacket socket", fl, err, "*net.UnixListener")

	// Package net's errors, word for word.
	for _, nw := range [][2]string{{"udp", "127.0.0.1:0"}, {"ip4:icmp", "127.0.0.1"}, {"bogus", "127.0.0.1:0"}} {
		_, stdErr := net.Listen(nw[0], nw[1])
		_, err := Listen(nw[0], nw[1])
		if stdErr == nil || err == nil || err.Error() != stdErr.Error() {
			t.Errorf("Listen(%q): %v, package net: %v", nw[0], err, stdErr)
		}
	}
	_, stdErr := net.Dial("bogus", "127.0.0.1:1")
	if _, err := Dial("bogus", "127.0.0.1:1"); stdErr == nil || err == nil || err.Error() != stdErr.Error() {
		t.Errorf("Dial(bogus): %v, package net: %v", err, stdErr)
	}

	// Require: an error that names the network.
	_, err = (&ListenConfig{Require: true}).Listen(bg, "unixpacket", filepath.Join(t.TempDir(), "q.sock"))
	checkOpError(t, err, "listen", nil)
	if !strings.Contains(err.Error(), `"unixpacket"`) {
		t.Errorf("Require, unixpacket: %v", err)
	}
	_, err = (&Dialer{Require: true}).Dial("udp", pc.LocalAddr().String())
	checkOpError(t, err, "dial", nil)
	if !strings.Contains(err.Error(), `"udp"`) {
		t.Errorf("Require, udp: %v", err)
	}
	_, err = (&ListenConfig{Require: true}).FileListener(pf)
	checkOpError(t, err, "file", nil)
	if !strings.Contains(err.Error(), `"unixpacket"`) {
		t.Errorf("Require, FileListener on unixpacket: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []ListenConfig{
		{RingEntries: 100},
		{RingEntries: 1 << 20},
		{BufferCount: 3},
		{BufferSize: 10},
		{BufferSize: 1 << 30},
		{Rings: -1},
		{Rings: 1000},
		{DirectReadConns: maxDirectConns + 1},
		{DirectReadConns: 1 << 30}, // its window, 4x, would wrap to 0
	}
	for _, lc := range bad {
		_, err := lc.Listen(bg, "tcp", "127.0.0.1:0")
		if err == nil || !strings.Contains(err.Error(), "uringnet:") {
			t.Errorf("%+v: got %v, want a clear validation error", lc, err)
		}
	}
}

// DirectReadConns at its bound: every conn reads directly, and the
// activity window (4x, a uint32) does not wrap.
func TestDirectReadConnsAtBound(t *testing.T) {
	ln := newTestListener(t, &ListenConfig{DirectReadConns: maxDirectConns})
	go serveEcho(ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for i := 0; i < 50; i++ {
		msg := []byte(fmt.Sprintf("round %d", i))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
			t.Fatalf("round %d: %q, %v", i, got, err)
		}
	}
}

func TestFallbackWhenDisabled(t *testing.T) {
	t.Setenv(EnvVar, "off")
	if err := Available(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "URINGNET=off") {
		t.Fatalf("Available() = %v", err)
	}
	ln, err := Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, ok := ln.(*net.TCPListener); !ok {
		t.Fatalf("with URINGNET=off Listen returned %T, want *net.TCPListener", ln)
	}
	_, err = (&ListenConfig{Require: true}).Listen(bg, "tcp", "127.0.0.1:0")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Require with URINGNET=off: %v", err)
	}
	checkOpError(t, err, "listen", ErrUnavailable)
}

// Rings, fds and goroutines come back after many Listen/Close cycles.
func TestListenCloseCyclesRelease(t *testing.T) {
	requireUring(t)
	baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
	for i := 0; i < 1000; i++ {
		ln, err := (&ListenConfig{Require: true, BufferCount: 64}).Listen(bg, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 { // with a conn open at Close time too
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			sc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			ln.Close()
			sc.Close()
			c.Close()
			continue
		}
		ln.Close()
	}
	waitFor(t, 10*time.Second, "rings released", func() bool { return shim.LiveRings() == 0 })
	waitFor(t, 10*time.Second, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= baseG })
	waitFor(t, 10*time.Second, "fds back to baseline", func() bool { return openFDs(t) <= baseFD })
}

// A conn accepted by the ring but never returned by Accept is closed with the listener.
func TestUnacceptedConnClosedWithListener(t *testing.T) {
	requireUring(t)
	ln, err := (&ListenConfig{Require: true}).Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	ln.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("peer of an unaccepted conn can still read after listener Close")
	}
	waitFor(t, 10*time.Second, "ring released", func() bool { return shim.LiveRings() == 0 })
}

func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("SKIP: no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// connsThatFit returns want, or fewer when RLIMIT_NOFILE leaves no room
// for want conns of perConn descriptors each beside those open now; it
// skips the test when fewer than 16 would fit.
func connsThatFit(t testing.TB, want, perConn int) int {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return want
	}
	room := (int(lim.Cur) - openFDs(t) - 64) / perConn
	if room >= want {
		return want
	}
	if room < 16 {
		t.Skipf("SKIP: RLIMIT_NOFILE %d leaves room for %d conns", lim.Cur, max(room, 0))
	}
	t.Logf("%d conns instead of %d (RLIMIT_NOFILE %d)", room, want, lim.Cur)
	return room
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A listener with several rings spreads its conns over them, and releases
// all of them when it and its conns close.
func TestListenerRings(t *testing.T) {
	requireUring(t)
	ln, err := (&ListenConfig{Require: true, Rings: 3}).Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go serveEcho(ln)
	var conns []net.Conn
	for i := 0; i < 9; i++ {
		if err := echoCheck(ln.Addr(), 100<<10, int64(i)); err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Round-robin puts 3 of the 9 held conns on each ring (the
	// listener's ring has the listener as well). Counts are published
	// after each loop pass.
	rings := ln.(*Listener).l.rings()
	if len(rings) != 3 {
		t.Fatalf("%d rings, want 3", len(rings))
	}
	waitFor(t, 10*time.Second, "every ring serving held conns", func() bool {
		for _, r := range rings {
			if r.snapshot().Endpoints < 2 {
				return false
			}
		}
		return true
	})
	ln.Close()
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, 10*time.Second, "all rings released", func() bool { return shim.LiveRings() == 0 })
}

// Without Rings, a listener gets one ring fewer than GOMAXPROCS (counted up
// to the CPUs the process may use), at least 1 and at most 64.
func TestDefaultRings(t *testing.T) {
	for _, tc := range []struct{ procs, cpus, want int }{
		{1, 256, 1}, {2, 256, 1}, {3, 256, 2}, {4, 256, 3}, {16, 256, 15}, {65, 256, 64}, {256, 256, 64},
		{8, 2, 1}, {8, 3, 2}, {16, 8, 7},
	} {
		if got := defaultRings(tc.procs, tc.cpus); got != tc.want {
			t.Errorf("defaultRings(%d, %d) = %d, want %d", tc.procs, tc.cpus, got, tc.want)
		}
	}
	requireUring(t)
	pretendCPUs(t, 4)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ln, err := (&ListenConfig{Require: true}).Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if n := len(ln.(*Listener).l.rings()); n != 3 {
		t.Fatalf("GOMAXPROCS 4: %d rings, want 3", n)
	}
	go serveEcho(ln)
	for i := 0; i < 6; i++ {
		if err := echoCheck(ln.Addr(), 10<<10, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// Several goroutines may wait in Accept at once, as with package net: a
// burst of dials reaches each of them (each accepts once and stops, so none
// can pick up what was meant for another), and Close or a deadline returns
// every one of them, not only the first.
func TestConcurrentAccepts(t *testing.T) {
	for _, end := range []string{"close", "deadline"} {
		t.Run(end, func(t *testing.T) {
			ln := newTestListener(t, nil)
			const waiters = 8
			accepts := func() chan error {
				errs := make(chan error, waiters)
				for i := 0; i < waiters; i++ {
					go func() {
						c, err := ln.Accept()
						if err == nil {
							c.Close()
						}
						errs <- err
					}()
				}
				return errs
			}
			collect := func(errs chan error, what string, want error) {
				t.Helper()
				for i := 0; i < waiters; i++ {
					select {
					case err := <-errs:
						if !errors.Is(err, want) {
							t.Errorf("Accept %s: %v, want %v", what, err, want)
						}
					case <-time.After(10 * time.Second):
						t.Fatalf("%d of %d Accepts still blocked %s", waiters-i, waiters, what)
					}
				}
			}

			errs := accepts()
			time.Sleep(50 * time.Millisecond) // let them park
			for i := 0; i < waiters; i++ {
				c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			collect(errs, "with a conn for each", nil)

			errs = accepts()
			time.Sleep(50 * time.Millisecond)
			if end == "close" {
				ln.Close()
				collect(errs, "after Close", net.ErrClosed)
			} else {
				ln.SetDeadline(time.Now().Add(-time.Second))
				collect(errs, "after the deadline", os.ErrDeadlineExceeded)
			}
		})
	}
}

// ListenConfig.Control reaches the socket before bind, as in package net:
// with SO_REUSEPORT two uringnet listeners share a port and both serve; an
// error from Control fails Listen with it; the fallback listener gets
// Control too.
func TestListenControl(t *testing.T) {
	requireUring(t)
	var calls []string
	reusePort := func(network, address string, c syscall.RawConn) error {
		calls = append(calls, network+" "+address)
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}
	lc := ListenConfig{Require: true, Control: reusePort}
	a, err := lc.Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := lc.Listen(bg, "tcp", a.Addr().String())
	if err != nil {
		t.Fatalf("second listener on %s with SO_REUSEPORT: %v", a.Addr(), err)
	}
	defer b.Close()
	if len(calls) != 2 || !strings.Contains(calls[1], a.Addr().String()) {
		t.Fatalf("Control calls %q, want two, the second for %s", calls, a.Addr())
	}
	go serveEcho(a)
	go serveEcho(b)
	for i := 0; i < 8; i++ {
		if err := echoCheck(a.Addr(), 1<<10, int64(i)); err != nil {
			t.Fatal(err)
		}
	}

	refuse := errors.New("refused by Control")
	_, err = (&ListenConfig{Require: true, Control: func(string, string, syscall.RawConn) error { return refuse }}).Listen(bg, "tcp", "127.0.0.1:0")
	if !errors.Is(err, refuse) {
		t.Fatalf("Listen with a failing Control: %v, want it to wrap %v", err, refuse)
	}

	t.Setenv(EnvVar, "off")
	calls = nil
	std, err := (&ListenConfig{Control: reusePort}).Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	std.Close()
	if len(calls) != 1 {
		t.Fatalf("fallback listener: %d Control calls, want 1", len(calls))
	}
}

// soReusePort is SO_REUSEPORT on Linux (every architecture); package
// syscall does not name it.
const soReusePort = 0xf

// FileListener serves a listening socket handed over as a file (systemd
// socket activation, a parent process) through io_uring: TCP and unix
// stream sockets work, the file stays usable by its owner, a unix socket's
// path stays, a file that is no socket gets a clear error, and without
// io_uring it returns package net's listener (unixpacket sockets:
// TestNonStreamNetworksGoToPackageNet).
func TestFileListener(t *testing.T) {
	requireUring(t)
	serveFrom := func(t *testing.T, network, address string) (net.Listener, *os.File) {
		t.Helper()
		nl, err := net.Listen(network, address)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nl.Close() })
		f, err := nl.(interface{ File() (*os.File, error) }).File()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		ln, err := (&ListenConfig{Require: true}).FileListener(f)
		if err != nil {
			t.Fatalf("FileListener(%s): %v", network, err)
		}
		if _, ok := ln.(*Listener); !ok {
			t.Fatalf("FileListener(%s) returned %T, want *Listener", network, ln)
		}
		t.Cleanup(func() { ln.Close() })
		go serveEcho(ln)
		return ln, f
	}

	ln, f := serveFrom(t, "tcp", "127.0.0.1:0")
	for i := 0; i < 4; i++ {
		if err := echoCheck(ln.Addr(), 32<<10, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	ln.Close()
	if _, err := net.FileListener(f); err != nil {
		t.Fatalf("the file after the uringnet listener closed: %v", err)
	}

	path := filepath.Join(t.TempDir(), "f.sock")
	uln, _ := serveFrom(t, "unix", path)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	pingEcho(t, c)
	c.Close()
	uln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("closing a file listener removed the socket's path: %v", err)
	}
	// SetUnlinkOnClose(true) makes one remove it, as package net's does.
	os.Remove(path)
	uln2, _ := serveFrom(t, "unix", path)
	uln2.(*Listener).SetUnlinkOnClose(true)
	uln2.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left behind after SetUnlinkOnClose(true): %v", err)
	}
	regular, _ := os.Open(os.Args[0])
	defer regular.Close()
	if _, err := FileListener(regular); err == nil {
		t.Fatal("FileListener on a regular file succeeded")
	}

	t.Setenv(EnvVar, "off")
	std, err := FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	std.Close()
	if _, ok := std.(*net.TCPListener); !ok {
		t.Fatalf("with URINGNET=off FileListener returned %T", std)
	}
	if _, err := (&ListenConfig{Require: true}).FileListener(f); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Require with URINGNET=off: %v", err)
	}
}
