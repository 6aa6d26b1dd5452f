package uringnet

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// connMode reports whether c reads directly and whether it has its
// netpoller registration yet.
func connMode(c *conn) (direct, hasReader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.direct && c.recvOff, c.dr != nil
}

// On a lightly loaded ring a conn reads with recv(2), and the ring's recv
// is never armed for it.
func TestDirectReadsAtLightLoad(t *testing.T) {
	readsDirect(t)
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	before := ln.Stats().CQEs
	roundTrips(t, s, cl, 50)
	if direct, hasReader := connMode(s.c); !direct || !hasReader {
		t.Fatalf("direct=%v reader=%v after reads on a ring with one conn", direct, hasReader)
	}
	// The ring saw no recv completions: 50 reads through it would be 50+.
	if n := ln.Stats().CQEs - before; n > 10 {
		t.Fatalf("ring reaped %d CQEs for 50 direct reads", n)
	}
}

// The mode switches while bytes stream in: when other busy conns push the
// ring's load past the limit the conn goes back to the ring, when they
// close it reads directly again. Every byte arrives once, in order.
func TestModeSwitchKeepsByteOrder(t *testing.T) {
	t.Setenv("URINGNET_DIRECT_CONNS", "2") // direct at <= 2 busy conns, back to the ring at > 3
	// One ring: the busy conns must share the conn's ring.
	ln := newTestListener(t, &ListenConfig{Rings: 1})
	s, cl := pair(t, ln)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the writer: little-endian uint32 counters in random chunks, with pauses
		defer wg.Done()
		defer cl.(*net.TCPConn).CloseWrite()
		rng := rand.New(rand.NewSource(1))
		buf := make([]byte, 0, 64<<10)
		for seq := uint32(0); ; {
			select {
			case <-stop:
				return
			default:
			}
			buf = buf[:0]
			for k := 1 + rng.Intn(16<<10); k > 0; k-- {
				buf = binary.LittleEndian.AppendUint32(buf, seq)
				seq++
			}
			if _, err := cl.Write(buf); err != nil {
				t.Errorf("client write: %v", err)
				return
			}
			if rng.Intn(2) == 0 {
				time.Sleep(time.Duration(rng.Intn(500)) * time.Microsecond)
			}
		}
	}()
	go func() { // the load: 4 extra busy conns, then none, again and again
		defer wg.Done()
		for {
			busyConns(t, ln, 4, 5*time.Millisecond)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	// Read until enough switches were seen (or 20 s passed), then to EOF.
	s.SetReadDeadline(time.Now().Add(60 * time.Second))
	rng := rand.New(rand.NewSource(2))
	var want uint32
	var pending []byte
	switches, lastDirect := 0, true
	buf := make([]byte, 32<<10)
	giveUp := time.Now().Add(20 * time.Second)
	stopped := false
	for {
		if !stopped && (switches >= 40 || time.Now().After(giveUp)) {
			close(stop)
			stopped = true
		}
		n, err := s.Read(buf[:1+rng.Intn(len(buf))])
		if err == io.EOF {
			break
		}
		if err != nil {
			if !stopped {
				close(stop)
			}
			wg.Wait()
			t.Fatalf("server read at counter %d: %v", want, err)
		}
		pending = append(pending, buf[:n]...)
		for len(pending) >= 4 {
			if got := binary.LittleEndian.Uint32(pending); got != want {
				if !stopped {
					close(stop)
				}
				wg.Wait()
				t.Fatalf("counter %d, want %d (after %d mode switches)", got, want, switches)
			}
			want++
			pending = pending[4:]
		}
		if direct, _ := connMode(s.c); direct != lastDirect {
			switches++
			lastDirect = direct
		}
	}
	wg.Wait()
	if len(pending) != 0 {
		t.Fatalf("%d stray bytes at EOF", len(pending))
	}
	if switches < 4 {
		t.Fatalf("saw %d mode switches: the test did not exercise them", switches)
	}
	t.Logf("%d counters in order across %d mode switches", want, switches)
}

// A deadline set before the first direct Read (the netpoller registration
// does not exist yet) still bounds it, and the conn stays usable after.
func TestDirectReadDeadlineSetBeforeFirstRead(t *testing.T) {
	readsDirect(t)
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	s.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	readTimesOut(t, s, time.Now(), 80*time.Millisecond, 5*time.Second)
	if direct, hasReader := connMode(s.c); !direct || !hasReader {
		t.Fatalf("direct=%v reader=%v: the timeout did not come from a direct Read", direct, hasReader)
	}
	s.SetReadDeadline(time.Time{})
	cl.Write([]byte("ok"))
	got := make([]byte, 2)
	if _, err := io.ReadFull(s, got); err != nil || string(got) != "ok" {
		t.Fatalf("read after timeout: %q, %v", got, err)
	}
}

// With no descriptor left for the netpoller's dup, Read falls back to the
// ring instead of failing.
func TestDirectReadFallsBackWithoutDescriptors(t *testing.T) {
	readsDirect(t)
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	if _, err := cl.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	// Lower the soft limit to the lowest free descriptor: any new one fails.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	probe, err := syscall.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(probe)
	lim := old
	lim.Cur = uint64(probe)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("SKIP: cannot lower RLIMIT_NOFILE: %v", err)
	}
	got := make([]byte, 5)
	_, rerr := io.ReadFull(s, got)
	direct, hasReader := connMode(s.c)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if rerr != nil || string(got) != "hello" {
		t.Fatalf("read with no descriptors left: %q, %v", got, rerr)
	}
	if direct || hasReader {
		t.Fatalf("direct=%v reader=%v: the read should have gone to the ring", direct, hasReader)
	}
	cl.Write([]byte("again"))
	if _, err := io.ReadFull(s, got); err != nil || string(got) != "again" {
		t.Fatalf("second read: %q, %v", got, err)
	}
}

// Close while a direct Read is parked in the netpoller returns ErrClosed.
func TestCloseUnblocksDirectRead(t *testing.T) {
	readsDirect(t)
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 8))
		errc <- err
	}()
	waitFor(t, 5*time.Second, "the first direct Read makes its reader", func() bool {
		_, hasReader := connMode(s.c)
		return hasReader
	})
	time.Sleep(20 * time.Millisecond) // let it park
	s.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after Close")
	}
}

// DirectReadConns < 0 keeps every Read on the ring, whatever the load.
func TestDirectReadConnsOff(t *testing.T) {
	readsDirect(t)
	ln := newTestListener(t, &ListenConfig{DirectReadConns: -1})
	s, cl := pair(t, ln)
	before := ln.Stats().CQEs
	cl.Write([]byte("ring"))
	got := make([]byte, 4)
	if _, err := io.ReadFull(s, got); err != nil || string(got) != "ring" {
		t.Fatalf("read %q, %v", got, err)
	}
	if direct, hasReader := connMode(s.c); direct || hasReader {
		t.Fatalf("direct=%v reader=%v with DirectReadConns -1", direct, hasReader)
	}
	// The loop publishes its counters after the pass that woke the reader.
	waitFor(t, 5*time.Second, "the ring reaps a recv CQE for the read", func() bool {
		return ln.Stats().CQEs != before
	})
}

// busyConns keeps k extra conns of ln busy for d: each client writes a
// byte every 50µs and its server side reads them. Then it closes them all.
func busyConns(t *testing.T, ln *Listener, k int, d time.Duration) {
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for i := 0; i < k; i++ {
		s, cl := pair(t, ln)
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for {
				if _, err := s.Read(buf); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			defer s.Close()
			defer cl.Close()
			for time.Now().Before(end) {
				if _, err := cl.Write([]byte{1}); err != nil {
					return
				}
				time.Sleep(50 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
}

// roundTrips writes n messages on cl and reads each back on s.
func roundTrips(t *testing.T, s *Conn, cl net.Conn, n int) {
	t.Helper()
	got := make([]byte, 4)
	for i := 0; i < n; i++ {
		msg := []byte{byte(i), 1, 2, 3}
		if _, err := cl.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, got); err != nil {
			t.Fatal(err)
		}
		if got[0] != byte(i) {
			t.Fatalf("read %v, want %v", got, msg)
		}
	}
}

// The mode follows how many conns are busy, not how many there are: one
// busy conn among many idle ones reads directly.
func TestBusyConnAmongIdleReadsDirect(t *testing.T) {
	readsDirect(t)
	t.Setenv("URINGNET_DIRECT_CONNS", "2") // direct at <= 2 busy conns
	ln := newTestListener(t, nil)
	var wg sync.WaitGroup
	defer wg.Wait()           // after the Closes below: deferred calls run last first
	for i := 0; i < 12; i++ { // idle conns, each with a Read waiting
		s, _ := pair(t, ln)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Read(make([]byte, 8)) // returns when s is closed
		}()
		defer s.Close()
	}
	s, cl := pair(t, ln)
	waitFor(t, 10*time.Second, "the busy conn reads directly", func() bool {
		roundTrips(t, s, cl, 20)
		direct, hasReader := connMode(s.c)
		return direct && hasReader
	})
}

// A direct Read that waits past the idle limit goes back to the ring and
// gives up its netpoller registration; it still gets the data, and a
// later busy spell reads directly again.
func TestIdleDirectReadReturnsToRing(t *testing.T) {
	readsDirect(t)
	t.Setenv("URINGNET_DIRECT_IDLE_MS", "50")
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	roundTrips(t, s, cl, 5)
	if direct, hasReader := connMode(s.c); !direct || !hasReader {
		t.Fatalf("direct=%v reader=%v before idling", direct, hasReader)
	}
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 8)
		n, err := s.Read(b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b[:n])
	}()
	waitFor(t, 5*time.Second, "the idle Read leaves direct mode", func() bool {
		direct, hasReader := connMode(s.c)
		return !direct && !hasReader
	})
	cl.Write([]byte("late"))
	select {
	case g := <-got:
		if g != "late" {
			t.Fatalf("idle Read returned %q, want \"late\"", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after the data was sent")
	}
	waitFor(t, 5*time.Second, "the conn reads directly again", func() bool {
		roundTrips(t, s, cl, 5)
		direct, hasReader := connMode(s.c)
		return direct && hasReader
	})
}

// A read deadline later than the idle limit: the Read leaves direct mode
// at the idle limit but times out only at its deadline.
func TestDirectReadDeadlineBeyondIdleLimit(t *testing.T) {
	readsDirect(t)
	t.Setenv("URINGNET_DIRECT_IDLE_MS", "50")
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	roundTrips(t, s, cl, 5)
	const d = 400 * time.Millisecond
	start := time.Now()
	s.SetReadDeadline(start.Add(d))
	readTimesOut(t, s, start, d-10*time.Millisecond, 10*time.Second)
}

// A read deadline moved later while a direct Read waits: the earlier one
// passing does not end the Read; the later one does.
func TestDirectReadDeadlineMovedLater(t *testing.T) {
	readsDirect(t)
	ln := newTestListener(t, nil)
	s, cl := pair(t, ln)
	roundTrips(t, s, cl, 5)
	start := time.Now()
	s.SetReadDeadline(start.Add(300 * time.Millisecond))
	go func() {
		time.Sleep(30 * time.Millisecond)
		s.SetReadDeadline(start.Add(800 * time.Millisecond))
	}()
	readTimesOut(t, s, start, 790*time.Millisecond, 10*time.Second) // the moved deadline
	if direct, hasReader := connMode(s.c); !direct || !hasReader {
		t.Fatalf("direct=%v reader=%v: the Read should have stayed direct", direct, hasReader)
	}
}
