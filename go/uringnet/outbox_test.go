package uringnet

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// fill writes 4 KiB records to s until Writes time out because the peer
// does not read (the socket and the outbox are full). It returns how many
// bytes the Writes reported taken, and the bytes themselves.
//
// A Write may also time out while the loop is slow to send (on a loaded
// machine), with room left in the socket: so it writes again, with a
// shorter deadline, until a round of Writes takes nothing.
func fill(t *testing.T, s *Conn) []byte {
	t.Helper()
	var sent []byte
	rec := make([]byte, 4096)
	i := 0
	within(t, 60*time.Second, "filling the socket", func() {
		for wait := 500 * time.Millisecond; ; wait = 300 * time.Millisecond {
			took := 0
			s.SetWriteDeadline(time.Now().Add(wait))
			for ; ; i++ {
				for j := range rec {
					rec[j] = byte(i + j)
				}
				n, err := s.Write(rec)
				sent = append(sent, rec[:n]...)
				took += n
				if err != nil {
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("write: %v", err)
					}
					break
				}
			}
			if took == 0 || t.Failed() {
				return
			}
		}
	})
	s.SetWriteDeadline(time.Time{})
	return sent
}

// expectPeerReads reads c to EOF and checks it got exactly sent.
func expectPeerReads(t *testing.T, c net.Conn, sent []byte) {
	t.Helper()
	var got []byte
	within(t, 30*time.Second, "peer reads all then EOF", func() {
		var err error
		if got, err = io.ReadAll(c); err != nil {
			t.Error(err)
		}
	})
	if !bytes.Equal(got, sent) {
		t.Fatalf("peer read %d bytes, Writes reported %d (or they differ)", len(got), len(sent))
	}
}

// Close sends what Writes queued before it closes the socket: the peer
// reads every byte that Write reported taken, then EOF. With the outbox off
// (WriteBuffer < 0) the same must hold.
func TestCloseSendsQueuedBytes(t *testing.T) {
	for _, cfg := range []struct {
		name string
		wb   int
	}{{"outbox", 0}, {"no-outbox", -1}} {
		t.Run(cfg.name, func(t *testing.T) {
			ln := newTestListener(t, &ListenConfig{WriteBuffer: cfg.wb})
			s, c := pair(t, ln)
			sent := fill(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			expectPeerReads(t, c, sent)
		})
	}
}

// CloseWrite with bytes queued: the peer reads them all, then EOF, and this
// side can still read. Writes after CloseWrite fail.
func TestCloseWriteAfterQueuedBytes(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	sent := fill(t, s)
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("late")); err == nil {
		t.Fatal("Write after CloseWrite succeeded")
	} else {
		checkOpError(t, err, "write", syscall.EPIPE)
	}
	expectPeerReads(t, c, sent)
	c.Write([]byte("still talking"))
	buf := make([]byte, 13)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "still talking" {
		t.Fatalf("read after CloseWrite: %q %v", buf, err)
	}
}

// A closed conn whose peer never reads stops trying after closeFlushTimeout,
// releases its socket, and resets the conn: the peer must not take the
// missing bytes for a clean end of stream.
func TestCloseFlushGivesUp(t *testing.T) {
	setCloseFlushTimeout(t, 300*time.Millisecond)
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	sent := fill(t, s)
	before := ln.Stats().Endpoints
	s.Close()
	expectReleased(t, ln, before)
	expectPeerReset(t, c, sent)
}

// setCloseFlushTimeout sets closeFlushTimeout for the rest of the test.
func setCloseFlushTimeout(t *testing.T, d time.Duration) {
	old := closeFlushTimeout
	closeFlushTimeout = d
	t.Cleanup(func() { closeFlushTimeout = old })
}

// expectReleased waits until ln has fewer than before endpoints: a closed
// conn was torn down.
func expectReleased(t *testing.T, ln *Listener, before int) {
	t.Helper()
	waitFor(t, 15*time.Second, "the closed conn torn down", func() bool { return ln.Stats().Endpoints < before })
}

// expectPeerReset reads c until an error and checks that the conn was reset
// before all of sent arrived: queued bytes were dropped, and the peer was
// told so.
func expectPeerReset(t *testing.T, c net.Conn, sent []byte) {
	t.Helper()
	got, err := readUntilError(t, c)
	if got >= len(sent) || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("peer read %d of %d bytes, then %v; want fewer, then ECONNRESET", got, len(sent), err)
	}
}

// readUntilError reads c until an error and returns the bytes read and it.
func readUntilError(t *testing.T, c net.Conn) (int, error) {
	t.Helper()
	var got int64
	var err error
	within(t, 30*time.Second, "peer reads until an error", func() {
		got, err = io.Copy(io.Discard, c)
		if err == nil {
			err = io.EOF // io.Copy reports a clean end as nil
		}
	})
	return int(got), err
}

// Close with data from the peer still unread resets the conn at once, queued
// bytes or not, as package net's close(2) does (checked here on package net
// too): the peer's Read fails with ECONNRESET instead of waiting for bytes
// that this side will not send, or reading a clean EOF.
func TestCloseWithUnreadDataResets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queued bool // bytes sit in the outbox at Close
		std    bool
	}{{"uring", false, false}, {"uring-queued", true, false}, {"std", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var s net.Conn
			var c net.Conn
			var ln *Listener
			if tc.std {
				s, c = stdPair(t)
			} else {
				ln = newTestListener(t, nil)
				s, c = pair(t, ln)
			}
			if tc.queued {
				fill(t, s.(*Conn))
			}
			if _, err := c.Write([]byte("never read")); err != nil {
				t.Fatal(err)
			}
			waitUnread(t, s)
			if ln != nil {
				// Stats are copied after each loop pass: wait until they
				// count this conn (the listener and it) before Close.
				waitFor(t, 10*time.Second, "the conn counted", func() bool { return ln.Stats().Endpoints >= 2 })
			}
			s.Close()
			if ln != nil {
				expectReleased(t, ln, 2)
			}
			if _, err := readUntilError(t, c); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("peer read ended with %v, want ECONNRESET", err)
			}
		})
	}
}

// Data that comes while a closed conn still sends its queued bytes resets
// it, as it would a closed socket of package net's, instead of the flush
// waiting out closeFlushTimeout on a peer that is itself blocked writing to
// us. (In ring mode or direct mode, by the test pass: make test runs both.)
func TestDataDuringCloseFlushResets(t *testing.T) {
	setCloseFlushTimeout(t, 5*time.Minute) // the reset must come from the data
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	sent := fill(t, s)
	before := ln.Stats().Endpoints
	s.Close()
	if _, err := c.Write([]byte("after close")); err != nil {
		t.Fatal(err)
	}
	expectReleased(t, ln, before)
	expectPeerReset(t, c, sent)
}

// stdPair returns a connected (server, client) pair of package net's conns.
func stdPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return acceptDialed(t, ln, net.Dial)
}

// waitUnread waits until bytes from the peer wait unread on s: in the
// socket's receive queue, or (a *Conn on the ring) in its received buffers.
func waitUnread(t *testing.T, s net.Conn) {
	t.Helper()
	waitFor(t, 10*time.Second, "the peer's bytes arriving", func() bool {
		if pc, ok := s.(*Conn); ok {
			pc.c.mu.Lock()
			held := len(pc.c.rq) > int(pc.c.rhead)
			pc.c.mu.Unlock()
			if held {
				return true
			}
		}
		queued := false
		rc, _ := s.(syscall.Conn).SyscallConn()
		rc.Control(func(fd uintptr) { queued = unreadInKernel(int(fd)) })
		return queued
	})
}

// SetLinger(0) drops queued bytes: Close resets the conn at once.
func TestLingerZeroDropsQueuedBytes(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	sent := fill(t, s)
	if err := s.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var got int64
	var err error
	within(t, 30*time.Second, "peer reads until the reset", func() { got, err = io.Copy(io.Discard, c) })
	if got >= int64(len(sent)) {
		t.Fatalf("peer read all %d bytes: queued bytes were not dropped", got)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("peer read error %v, want ECONNRESET or none", err)
	}
}

// Bytes written before ReadFrom arrive before the file's.
func TestReadFromAfterWriteKeepsOrder(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	path, data := tempFile(t, 200<<10)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := bytes.Repeat([]byte("head"), 1000)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(c, int64(len(head)+len(data))))
		got <- b
	}()
	if _, err := s.Write(head); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadFrom(f); err != nil {
		t.Fatal(err)
	}
	var b []byte
	within(t, 30*time.Second, "peer reads", func() { b = <-got })
	if !bytes.Equal(b, append(head, data...)) {
		t.Fatal("bytes out of order or corrupted")
	}
}

// A send error that arrives after Write returned is reported by a later
// Write, as a *net.OpError.
func TestLaterWriteReportsSendError(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	within(t, 10*time.Second, "writes after the peer's reset", func() {
		var err error
		for i := 0; i < 1000 && err == nil; i++ {
			_, err = s.Write([]byte("x"))
			time.Sleep(time.Millisecond)
		}
		if err == nil {
			t.Error("writes after RST kept succeeding")
			return
		}
		checkOpError(t, err, "write", nil)
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Errorf("write error %v, want ECONNRESET or EPIPE", err)
		}
	})
}

// Past the ring's slab budget, chunks are malloc'd one by one and freed
// after their send: bytes still arrive whole, and none is left held.
func TestOutboxBeyondSlabBudget(t *testing.T) {
	old := maxPoolBytes
	maxPoolBytes = 0
	defer func() { maxPoolBytes = old }()
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	sent := fill(t, s)
	s.Close()
	expectPeerReads(t, c, sent)
	expectChunksBack(t, ln)
	pool := &ln.l.r.chunks
	pool.mu.Lock()
	slabs := len(pool.slabs)
	pool.mu.Unlock()
	if slabs != 0 {
		t.Fatalf("%d slabs allocated with a budget of 0", slabs)
	}
}

// A small Write into an empty outbox takes a 1 KiB chunk; later chunks are
// at least as large as what is queued before them, so a conn that keeps
// writing while its sends are in flight gets fewer, larger sends.
func TestNextChunkClass(t *testing.T) {
	for _, tc := range []struct{ queued, n, want int }{
		{0, 64, 1 << 10},
		{0, 1 << 10, 1 << 10},
		{0, 1<<10 + 1, 4 << 10},
		{1 << 10, 64, 1 << 10},
		{1<<10 + 64, 64, 4 << 10},
		{6 << 10, 64, 16 << 10},
		{40 << 10, 100, 64 << 10},
		{0, 1 << 20, 64 << 10}, // the largest class, filled in turn
	} {
		if got := int(chunkSizes[nextChunk(tc.queued, tc.n)]); got != tc.want {
			t.Errorf("%d bytes after %d queued: a %d-byte chunk, want %d", tc.n, tc.queued, got, tc.want)
		}
	}
}

// Writes with no Read between them are a stream: only the first
// maxDirectSends after a Read may send(2) themselves (when the loop
// sleeps), the rest go through the outbox, where the ring batches them into
// a few sends. Every byte arrives, in order.
func TestStreamOfWritesUsesOutbox(t *testing.T) {
	ln := newTestListener(t, &ListenConfig{Rings: 1})
	s, cl := pair(t, ln)
	defer s.Close()
	defer cl.Close()
	time.Sleep(50 * time.Millisecond) // the loop goes to sleep: a lone Write would send itself
	before := ln.Stats().SQEs
	var sent []byte
	for i := 0; i < 200; i++ {
		rec := bytes.Repeat([]byte{byte(i)}, 128)
		if _, err := s.Write(rec); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, rec...)
	}
	got := make([]byte, len(sent))
	cl.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(cl, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent) {
		t.Fatal("the stream arrived changed")
	}
	// The ring's counters are copied at the end of each loop pass, which
	// may come after the client has read the last byte.
	waitFor(t, 5*time.Second, "200 Writes with no Read between them all sent themselves: none went through the ring", func() bool {
		return ln.Stats().SQEs > before
	})
	sends := ln.Stats().SQEs - before
	// How few depends on the scheduling (6-95 SQEs under -race, up to 279
	// with cgocheck2 at GOMAXPROCS 1, where the loop can send each Write
	// before the next): BenchmarkStreamSmallWrites measures the batching.
	t.Logf("200 streamed Writes: %d SQEs", sends)
}
