package uringnet

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func TestEcho(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	go io.Copy(s, s)
	for i := 0; i < 200; i++ {
		msg := []byte{byte(i), 1, 2, 3}
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("round %d: got %v", i, got)
		}
	}
	if st := ln.Stats(); st.CQEs == 0 || st.Enters == 0 {
		t.Fatalf("ring did no work: %+v", st)
	}
}

func TestAddrs(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	if _, ok := ln.Addr().(*net.TCPAddr); !ok {
		t.Fatalf("listener addr %T", ln.Addr())
	}
	if s.LocalAddr().String() != c.RemoteAddr().String() || s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Fatalf("server %v<-%v, client %v->%v", s.LocalAddr(), s.RemoteAddr(), c.LocalAddr(), c.RemoteAddr())
	}
	if _, ok := s.RemoteAddr().(*net.TCPAddr); !ok {
		t.Fatalf("remote addr %T", s.RemoteAddr())
	}
}

// A conn's addresses, and those in its errors, are the ones it was
// accepted or dialed with, also after the peer reset it (getpeername then
// fails) and after Close, as package net's are.
func TestAddrsSurvivePeerReset(t *testing.T) {
	ln := newTestListener(t, nil)
	accepted, client := pair(t, ln)
	stdLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stdLn.Close()
	peer, dialed := acceptDialed(t, stdLn, Dial)
	for _, tc := range []struct {
		name string
		c    net.Conn // ours
		peer net.Conn // package net's, reset by the test
	}{{"accepted", accepted, client}, {"dialed", dialed, peer}} {
		t.Run(tc.name, func(t *testing.T) {
			local, remote := tc.peer.RemoteAddr().String(), tc.peer.LocalAddr().String()
			tc.peer.(*net.TCPConn).SetLinger(0)
			tc.peer.Close()
			var err error
			within(t, 10*time.Second, "read after reset", func() { _, err = tc.c.Read(make([]byte, 10)) })
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Addr == nil || oe.Addr.String() != remote || oe.Source.String() != local {
				t.Fatalf("read after reset: %v; want an OpError from %s to %s", err, local, remote)
			}
			for _, when := range []string{"after reset", "after Close"} {
				if got := tc.c.RemoteAddr().String(); got != remote {
					t.Fatalf("RemoteAddr %s = %s, want %s", when, got, remote)
				}
				if got := tc.c.LocalAddr().String(); got != local {
					t.Fatalf("LocalAddr %s = %s, want %s", when, got, local)
				}
				tc.c.Close()
			}
		})
	}
}

func TestPartialReads(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	msg := make([]byte, 100<<10)
	rand.Read(msg)
	go c.Write(msg)
	var got []byte
	buf := make([]byte, 7)
	for len(got) < len(msg) {
		n, err := s.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("data differs")
	}
}

func TestLargeWrite(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	msg := make([]byte, 16<<20)
	rand.Read(msg)
	want := sha256.Sum256(msg)
	errc := make(chan error, 1)
	go func() {
		n, err := s.Write(msg)
		if err == nil && n != len(msg) {
			err = io.ErrShortWrite
		}
		errc <- err
	}()
	h := sha256.New()
	within(t, 60*time.Second, "16 MiB read", func() {
		if _, err := io.CopyN(h, c, int64(len(msg))); err != nil {
			t.Error(err)
		}
	})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("16 MiB payload corrupted")
	}
}

// Records written by many goroutines at once must arrive whole.
func TestConcurrentWritesDoNotInterleave(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	const writers, perWriter, size = 16, 64, 1024
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rec := make([]byte, size)
			for i := 0; i < perWriter; i++ {
				for j := range rec {
					rec[j] = byte(w)
				}
				binary.BigEndian.PutUint32(rec, uint32(w<<16|i))
				if _, err := s.Write(rec); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	next := make([]int, writers)
	rec := make([]byte, size)
	within(t, 60*time.Second, "reading records", func() {
		for i := 0; i < writers*perWriter; i++ {
			if _, err := io.ReadFull(c, rec); err != nil {
				t.Error(err)
				return
			}
			id := binary.BigEndian.Uint32(rec)
			w, seq := int(id>>16), int(id&0xffff)
			if w >= writers || seq != next[w] {
				t.Errorf("record %d: writer %d seq %d, want seq %d", i, w, seq, next[w])
				return
			}
			next[w]++
			for _, b := range rec[4:] {
				if b != byte(w) {
					t.Errorf("record from writer %d has foreign bytes", w)
					return
				}
			}
		}
	})
	wg.Wait()
}

func TestPeerCloseDeliversDataThenEOF(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	c.Write([]byte("last words"))
	c.Close()
	var got []byte
	within(t, 10*time.Second, "read to EOF", func() {
		var err error
		got, err = io.ReadAll(s)
		if err != nil {
			t.Error(err)
		}
	})
	if string(got) != "last words" {
		t.Fatalf("got %q", got)
	}
	n, err := s.Read(make([]byte, 8))
	if n != 0 || err != io.EOF {
		t.Fatalf("read after EOF: %d, %v (want unwrapped io.EOF)", n, err)
	}
}

func TestPeerReset(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	within(t, 10*time.Second, "read after reset", func() {
		_, err := s.Read(make([]byte, 10))
		if err == nil || err == io.EOF {
			t.Errorf("read after RST: %v, want an error", err)
			return
		}
		checkOpError(t, err, "read", syscall.ECONNRESET)
	})
	within(t, 10*time.Second, "write after reset", func() {
		var err error
		for i := 0; i < 100 && err == nil; i++ {
			_, err = s.Write(make([]byte, 1024))
		}
		if err == nil {
			t.Error("writes after RST kept succeeding")
			return
		}
		checkOpError(t, err, "write", nil)
	})
}

func TestCloseUnblocksRead(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	errc := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 10)); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	select {
	case err := <-errc:
		checkOpError(t, err, "read", net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked after Close")
	}
}

func TestCloseUnblocksWrite(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln) // the client never reads: Write blocks once buffers fill
	errc := make(chan error, 1)
	go func() { _, err := s.Write(make([]byte, 64<<20)); errc <- err }()
	time.Sleep(100 * time.Millisecond)
	s.Close()
	select {
	case err := <-errc:
		checkOpError(t, err, "write", net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Write still blocked after Close")
	}
}

func TestCloseUnblocksAccept(t *testing.T) {
	ln := newTestListener(t, nil)
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		checkOpError(t, err, "accept", net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still blocked after Close")
	}
	_, err := ln.Accept()
	checkOpError(t, err, "accept", net.ErrClosed)
	checkOpError(t, ln.Close(), "close", net.ErrClosed)
}

func TestOpsAfterClose(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Read(make([]byte, 1))
	checkOpError(t, err, "read", net.ErrClosed)
	_, err = s.Write([]byte("x"))
	checkOpError(t, err, "write", net.ErrClosed)
	checkOpError(t, s.Close(), "close", net.ErrClosed)
	err = s.SetDeadline(time.Now())
	checkOpError(t, err, "set", net.ErrClosed)
	// As package net's: the deadline setters name only the local address.
	if oe := err.(*net.OpError); oe.Source != nil || oe.Addr != s.LocalAddr() {
		t.Errorf("SetDeadline's error has Source %v, Addr %v; want none and %v", oe.Source, oe.Addr, s.LocalAddr())
	}
	checkOpError(t, s.CloseWrite(), "close", net.ErrClosed)
}

// Socket calls (SetNoDelay, CloseWrite, SyscallConn's Control) racing
// Close: one that finds the conn closed builds its error, with the
// addresses, while the loop tears the conn down. When the descriptor had a
// read-write lock, building it under the read lock took that lock twice,
// and with the loop's write lock waiting in between, deadlocked: the loop
// stopped for every conn of the ring.
func TestSocketCallsRacingClose(t *testing.T) {
	ln := newTestListener(t, nil)
	within(t, 60*time.Second, "socket calls racing Close", func() {
		for i := 0; i < 500; i++ {
			s, c := pair(t, ln)
			done := make(chan error, 1)
			go func() {
				for {
					err := s.SetNoDelay(true)
					if errors.Is(err, net.ErrClosed) {
						done <- err
						return
					}
				}
			}()
			s.Close()
			checkOpError(t, <-done, "set", net.ErrClosed)
			c.Close()
		}
	})
	expectEchoes(t, ln) // the ring still serves
}

func TestConcurrentReadWriteClose(t *testing.T) {
	ln := newTestListener(t, nil)
	for iter := 0; iter < 20; iter++ {
		s, c := pair(t, ln)
		go io.Copy(c, c) // client echoes
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, 512)
			for {
				if _, err := s.Read(buf); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, 512)
			for {
				if _, err := s.Write(buf); err != nil {
					return
				}
			}
		}()
		time.Sleep(5 * time.Millisecond)
		s.Close()
		within(t, 10*time.Second, "Read and Write after Close", wg.Wait)
	}
}

func assertTimeout(t *testing.T, err error, op string) {
	t.Helper()
	checkOpError(t, err, op, os.ErrDeadlineExceeded)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%v: Timeout() is not true", err)
	}
}

func TestDeadlineInPast(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	c.Write([]byte("pending"))
	s.SetDeadline(time.Now().Add(-time.Second))
	start := time.Now()
	_, err := s.Read(make([]byte, 10))
	assertTimeout(t, err, "read")
	_, err = s.Write([]byte("x"))
	assertTimeout(t, err, "write")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("past deadline took %v", d)
	}
	// Reset: the conn works again and no data was lost.
	s.SetDeadline(time.Time{})
	buf := make([]byte, 7)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "pending" {
		t.Fatalf("after reset: %q, %v", buf, err)
	}
}

func TestReadDeadlineFires(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	s.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	_, err := s.Read(make([]byte, 10))
	d := time.Since(start)
	assertTimeout(t, err, "read")
	if d < 90*time.Millisecond || d > 5*time.Second {
		t.Fatalf("deadline of 100ms fired after %v", d)
	}
}

func TestWriteDeadlineFires(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln) // the client does not read
	// Allocated first: faulting in 64 MiB can take longer than the deadline.
	big := make([]byte, 64<<20)
	s.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	var n int
	var err error
	within(t, 10*time.Second, "write with deadline", func() { n, err = s.Write(big) })
	assertTimeout(t, err, "write")
	if n <= 0 || n >= len(big) {
		t.Fatalf("timed-out write reports %d bytes", n)
	}
	// The bytes the kernel took are exactly what the peer can read.
	s.SetWriteDeadline(time.Time{})
	s.Close()
	got, _ := io.Copy(io.Discard, c)
	if got != int64(n) {
		t.Fatalf("peer read %d bytes, Write reported %d", got, n)
	}
}

func TestDeadlineExtendedWhileBlocked(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	s.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	errc := make(chan error, 1)
	start := time.Now()
	go func() { _, err := s.Read(make([]byte, 1)); errc <- err }()
	time.Sleep(30 * time.Millisecond)
	s.SetReadDeadline(time.Now().Add(600 * time.Millisecond))
	select {
	case err := <-errc:
		assertTimeout(t, err, "read")
		if d := time.Since(start); d < 500*time.Millisecond {
			t.Fatalf("read returned after %v: the extended deadline was not honoured", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read never timed out")
	}
}

func TestDeadlineClearedWhileBlocked(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	s.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	errc := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 1)); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	s.SetReadDeadline(time.Time{})
	select {
	case err := <-errc:
		t.Fatalf("read returned %v after its deadline was cleared", err)
	case <-time.After(400 * time.Millisecond):
	}
	c.Write([]byte("x"))
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read did not return data")
	}
}

func TestDeadlineSetFromOtherGoroutine(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	errc := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 1)); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	s.SetReadDeadline(time.Now()) // from this goroutine, while Read blocks
	select {
	case err := <-errc:
		assertTimeout(t, err, "read")
	case <-time.After(5 * time.Second):
		t.Fatal("read not woken by SetReadDeadline")
	}
}

func TestUsableAfterTimeout(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	for i := 0; i < 3; i++ {
		s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := s.Read(make([]byte, 4))
		assertTimeout(t, err, "read")
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("ping"))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("round %d after timeout: %q %v", i, buf, err)
		}
	}
}

func TestAcceptDeadline(t *testing.T) {
	ln := newTestListener(t, nil)
	ln.SetDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := ln.Accept()
	assertTimeout(t, err, "accept")
	ln.SetDeadline(time.Time{})
	pair(t, ln)
}

func TestCloseWrite(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "peer reads EOF", func() {
		if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
			t.Errorf("peer got %q, %v", b, err)
		}
	})
	c.Write([]byte("still talking"))
	buf := make([]byte, 13)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "still talking" {
		t.Fatalf("read after CloseWrite: %q %v", buf, err)
	}
}

func TestCloseRead(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	if err := s.CloseRead(); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "read after CloseRead", func() {
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("read after CloseRead: %v, want io.EOF", err)
		}
	})
}

func TestSockopts(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	for name, err := range map[string]error{
		"SetNoDelay":         s.SetNoDelay(false),
		"SetKeepAlive":       s.SetKeepAlive(true),
		"SetKeepAlivePeriod": s.SetKeepAlivePeriod(30 * time.Second),
		"SetLinger":          s.SetLinger(-1),
		"SetReadBuffer":      s.SetReadBuffer(64 << 10),
		"SetWriteBuffer":     s.SetWriteBuffer(64 << 10),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	var nodelay int
	rc := s.c
	nodelay, err := syscall.GetsockoptInt(rc.fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	if err != nil || nodelay != 0 {
		t.Fatalf("TCP_NODELAY = %d, %v after SetNoDelay(false)", nodelay, err)
	}
	// Linux doubles the size asked for (socket(7)).
	for opt, name := range map[int]string{syscall.SO_RCVBUF: "SO_RCVBUF", syscall.SO_SNDBUF: "SO_SNDBUF"} {
		v, err := syscall.GetsockoptInt(rc.fd, syscall.SOL_SOCKET, opt)
		if err != nil || v != 128<<10 {
			t.Errorf("%s = %d, %v after setting 64 KiB; want 128 KiB", name, v, err)
		}
	}
	s.Close()
	if err := s.SetReadBuffer(1 << 10); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetReadBuffer after Close: %v", err)
	}
}

func TestNoDelayDefault(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	v, err := syscall.GetsockoptInt(s.c.fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	if err != nil || v == 0 {
		t.Fatalf("TCP_NODELAY = %d, %v; want on by default", v, err)
	}
}

// An idle conn's cost is mostly the conn struct: it must stay within the
// 384-byte size class (the next is 416). Idle net/http RSS per conn is
// measured by `go run ./cmd/uringbench -idle 10000`.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 384 {
		t.Fatalf("conn is %d bytes, over the 384-byte size class", n)
	}
}
