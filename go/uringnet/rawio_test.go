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
	"unsafe"
)

// readModes runs fn with the conn's Reads direct and on the ring: RawConn.Read
// must take the socket's reads from either.
func readModes(t *testing.T, fn func(t *testing.T)) {
	t.Run("direct", func(t *testing.T) { readsDirect(t); fn(t) })
	t.Run("ring", func(t *testing.T) { readsOnRing(t); fn(t) })
}

// errUnexpectedRead is what connCheck reports for bytes on an idle conn.
var errUnexpectedRead = errors.New("unexpected read")

// connCheck is the liveness check connection pools run on an idle conn
// before reuse (database drivers, Redis clients): one read through
// RawConn.Read that must find nothing. peek leaves a byte it finds.
func connCheck(c syscall.Conn, peek bool) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var sysErr error
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		var n int
		var err error
		if peek {
			n, _, err = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		} else {
			n, err = syscall.Read(int(fd), b[:]) // blocks the thread on a blocking socket
		}
		switch {
		case n == 0 && err == nil:
			sysErr = io.EOF
		case n > 0:
			sysErr = errUnexpectedRead
		case err == syscall.EAGAIN:
			sysErr = nil
		default:
			sysErr = err
		}
		return true
	})
	if err != nil {
		return err
	}
	return sysErr
}

func TestRawReadLivenessCheck(t *testing.T) {
	readModes(t, func(t *testing.T) {
		ln := newTestListener(t, nil)
		s, c := pair(t, ln)
		pingPong(t, s, c) // a conn that has been used, as a pooled one has
		within(t, 10*time.Second, "liveness check on an idle conn", func() {
			if err := connCheck(s, false); err != nil {
				t.Errorf("idle conn: %v, want nil", err)
			}
		})
		c.Write([]byte("x"))
		within(t, 10*time.Second, "liveness check seeing the peer's byte", func() {
			for {
				err := connCheck(s, true)
				if err == errUnexpectedRead {
					return
				}
				if err != nil {
					t.Errorf("with a byte coming: %v", err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
		// The byte the check saw is still the conn's.
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 8)
		if n, err := s.Read(b); string(b[:n]) != "x" || err != nil {
			t.Fatalf("Read after the checks: %q, %v; want \"x\"", b[:n], err)
		}
		c.Close()
		within(t, 10*time.Second, "liveness check seeing the peer's EOF", func() {
			for {
				err := connCheck(s, false)
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Errorf("with the peer's EOF coming: %v", err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
		if n, err := s.Read(b); n != 0 || err != io.EOF {
			t.Fatalf("Read after the EOF check: %d, %v; want EOF", n, err)
		}
	})
}

// pingPong sends a byte each way between s and c.
func pingPong(t *testing.T, s *Conn, c net.Conn) {
	t.Helper()
	buf := make([]byte, 1)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("p")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(s, buf); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Time{})
	s.SetDeadline(time.Time{})
}

// rawRecv reads once through RawConn.Read with a function that waits for
// data (returns false on EAGAIN); calls counts the function's calls. It
// returns RawConn.Read's error, else recv(2)'s (a syscall.Errno).
func rawRecv(rc syscall.RawConn, p []byte, calls *int) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		*calls++
		m, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
			0, 0, 0) // no MSG_DONTWAIT: the socket itself must be non-blocking
		if errno == syscall.EAGAIN {
			return false
		}
		if errno != 0 {
			rerr = errno
		} else {
			n = int(m)
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, rerr
}

func TestRawReadWaitsForData(t *testing.T) {
	readModes(t, func(t *testing.T) {
		ln := newTestListener(t, nil)
		s, c := pair(t, ln)
		rc, err := s.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		calls := 0
		time.AfterFunc(50*time.Millisecond, func() { c.Write([]byte("later")) })
		within(t, 10*time.Second, "RawConn.Read waiting for data", func() {
			n, err := rawRecv(rc, buf, &calls)
			if err != nil || string(buf[:n]) != "later" {
				t.Errorf("RawConn.Read: %q, %v", buf[:n], err)
			}
		})
		if calls < 2 {
			t.Errorf("the function ran %d times; want a call that found nothing, then one after the wait", calls)
		}

		// A read deadline ends the wait.
		s.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		within(t, 10*time.Second, "RawConn.Read until its deadline", func() {
			_, err := rawRecv(rc, buf, &calls)
			checkOpError(t, err, "raw-read", os.ErrDeadlineExceeded)
		})
		// A deadline already passed fails at once, without calling f.
		calls = 0
		_, err = rawRecv(rc, buf, &calls)
		checkOpError(t, err, "raw-read", os.ErrDeadlineExceeded)
		if calls != 0 {
			t.Errorf("the function ran %d times past the deadline", calls)
		}
		// A deadline set meanwhile by another goroutine ends it too.
		s.SetReadDeadline(time.Time{})
		endedBy(t, "RawConn.Read until a deadline set while it waits", func() { s.SetReadDeadline(time.Now()) },
			func() error { _, err := rawRecv(rc, buf, &calls); return err }, "raw-read", os.ErrDeadlineExceeded)

		// Close ends it.
		s.SetReadDeadline(time.Time{})
		endedBy(t, "RawConn.Read until Close", func() { s.Close() },
			func() error { _, err := rawRecv(rc, buf, &calls); return err }, "raw-read", net.ErrClosed)
	})
}

func TestRawReadRefusesWhileBytesQueued(t *testing.T) {
	readsOnRing(t)
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	c.Write([]byte("ab"))
	buf := make([]byte, 1)
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(s, buf); err != nil || buf[0] != 'a' {
		t.Fatalf("first Read: %q %v", buf, err)
	}
	// "b" came in the same recv and waits in the ring's queue.
	rc, _ := s.SyscallConn()
	calls := 0
	_, err := rawRecv(rc, make([]byte, 8), &calls)
	checkOpError(t, err, "raw-read", errRawReadQueued)
	if calls != 0 {
		t.Errorf("the function ran %d times with bytes queued", calls)
	}
	if _, err := io.ReadFull(s, buf); err != nil || buf[0] != 'b' {
		t.Fatalf("Read after the refused RawConn.Read: %q %v; want \"b\"", buf, err)
	}
	// With the queue empty, raw reads work, and Reads after them too. The
	// first one ends the ring's recv: bytes sent after it wait in the socket.
	if err := connCheck(s, true); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("cd"))
	within(t, 10*time.Second, "RawConn.Read", func() {
		for got := ""; got != "cd"; {
			p := make([]byte, 2-len(got))
			n, err := rawRecv(rc, p, &calls)
			if err != nil {
				t.Errorf("RawConn.Read: %v", err)
				return
			}
			got += string(p[:n])
		}
	})
	pingPong(t, s, c)
}

// rawSend writes all of p through RawConn.Write with a function that
// returns false when the socket is full; waits counts those. It returns
// how much the socket took and RawConn.Write's error, else write(2)'s.
func rawSend(rc syscall.RawConn, p []byte, waits *int) (int, error) {
	n := 0
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, err := syscall.Write(int(fd), p[n:]) // the socket itself must be non-blocking
			if err == syscall.EAGAIN {
				*waits++
				return false
			}
			if err != nil {
				werr = err
				return true
			}
			n += m
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

func TestRawWriteKeepsOrderAndWaitsForRoom(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	s.SetWriteBuffer(4096)
	rc, _ := s.SyscallConn()
	// Bytes a Write queued go first.
	if _, err := s.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	waits := 0
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB: more than the socket holds
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // let the socket fill
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		b := make([]byte, 6+len(payload))
		n, _ := io.ReadFull(c, b)
		got <- b[:n]
	}()
	within(t, 30*time.Second, "RawConn.Write of 4 MiB", func() {
		if _, err := rawSend(rc, payload, &waits); err != nil {
			t.Errorf("RawConn.Write: %v", err)
		}
	})
	b := <-got
	if string(b[:6]) != "hello " || !bytes.Equal(b[6:], payload) {
		t.Fatalf("peer got %d bytes, not the Write's then the RawConn.Write's", len(b))
	}
	if waits == 0 {
		t.Fatal("the socket never filled: the wait for room was not tested")
	}
	// Writes after it follow its bytes.
	s.Write([]byte("!"))
	if _, err := io.ReadFull(c, b[:1]); err != nil || b[0] != '!' {
		t.Fatalf("Write after RawConn.Write: %v", err)
	}
}

func TestRawWriteDeadlineAndClose(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln) // the peer never reads
	s.SetWriteBuffer(4096)
	rc, _ := s.SyscallConn()
	waits := 0
	endless := make([]byte, 64<<20) // the peer's buffers (it never reads) fill long before
	s.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	within(t, 10*time.Second, "RawConn.Write until its deadline", func() {
		_, err := rawSend(rc, endless, &waits)
		checkOpError(t, err, "raw-write", os.ErrDeadlineExceeded)
	})
	s.SetWriteDeadline(time.Time{})
	endedBy(t, "RawConn.Write until Close", func() { s.Close() },
		func() error { _, err := rawSend(rc, endless, &waits); return err }, "raw-write", net.ErrClosed)
}

// After raw calls the socket is non-blocking; the ring's recv and sends
// on it must still move every byte.
func TestRingIOAfterRawCalls(t *testing.T) {
	readModes(t, func(t *testing.T) {
		ln := newTestListener(t, nil)
		s, c := pair(t, ln)
		if err := connCheck(s, true); err != nil {
			t.Fatal(err)
		}
		rc, _ := s.SyscallConn()
		waits := 0
		if _, err := rawSend(rc, []byte("raw"), &waits); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 3)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "raw" {
			t.Fatalf("%q %v", buf, err)
		}
		go io.Copy(s, s)
		if err := echoCheckConn(c, 8<<20, 7); err != nil {
			t.Fatal(err)
		}
	})
}

// Descriptors passed over a unix conn (SCM_RIGHTS) with recvmsg and sendmsg
// through RawConn, the way package net's ReadMsgUnix and WriteMsgUnix pass
// them. The raw Read starts before the peer sends: a message the ring's
// recv took would have lost its descriptors (Limits, README).
func TestRawPassesDescriptorsOverUnix(t *testing.T) {
	readModes(t, func(t *testing.T) {
		s, cl := unixPair(t, false)
		rc, _ := s.SyscallConn()

		// Peer to conn: the conn's raw Read waits, then takes the message
		// and its descriptor.
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		time.AfterFunc(50*time.Millisecond, func() {
			cl.WriteMsgUnix([]byte("pipe"), syscall.UnixRights(int(pw.Fd())), nil)
			pw.Close()
		})
		buf, oob := make([]byte, 16), make([]byte, syscall.CmsgSpace(4))
		var n, oobn int
		var rerr error
		within(t, 10*time.Second, "recvmsg through RawConn.Read", func() {
			err = rc.Read(func(fd uintptr) bool {
				n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_CMSG_CLOEXEC)
				return rerr != syscall.EAGAIN
			})
		})
		if err != nil || rerr != nil || string(buf[:n]) != "pipe" {
			t.Fatalf("RawConn.Read: %v, recvmsg: %q %v", err, buf[:n], rerr)
		}
		got := receivedFile(t, oob[:oobn])
		// Conn to peer: the received pipe's write end goes back.
		if err := rc.Write(func(fd uintptr) bool {
			rerr = syscall.Sendmsg(int(fd), []byte("back"), syscall.UnixRights(int(got.Fd())), nil, 0)
			return rerr != syscall.EAGAIN
		}); err != nil || rerr != nil {
			t.Fatalf("RawConn.Write: %v, sendmsg: %v", err, rerr)
		}
		got.Close()
		cl.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, oobn, _, _, err = cl.ReadMsgUnix(buf, oob)
		if err != nil || string(buf[:n]) != "back" {
			t.Fatalf("ReadMsgUnix: %q %v", buf[:n], err)
		}
		back := receivedFile(t, oob[:oobn])
		// The descriptor that made the round trip is the pipe's write end.
		back.Write([]byte("through the pipe"))
		back.Close()
		pr.SetReadDeadline(time.Now().Add(10 * time.Second))
		if b, err := io.ReadAll(pr); string(b) != "through the pipe" {
			t.Fatalf("pipe read: %q %v", b, err)
		}
		// Plain Reads and Writes go on after the raw ones.
		cl.SetDeadline(time.Now().Add(10 * time.Second))
		s.SetDeadline(time.Now().Add(10 * time.Second))
		cl.Write([]byte("x"))
		if _, err := io.ReadFull(s, buf[:1]); err != nil || buf[0] != 'x' {
			t.Fatalf("Read after raw calls: %v", err)
		}
	})
}

// receivedFile returns the one descriptor an SCM_RIGHTS message carried.
func receivedFile(t *testing.T, oob []byte) *os.File {
	t.Helper()
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %d, %v", len(msgs), err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("descriptors: %v, %v", fds, err)
	}
	return os.NewFile(uintptr(fds[0]), "passed")
}
