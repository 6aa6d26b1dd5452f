package uringnet

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// msgConn is what *net.UnixConn and *Conn have in common for these tests.
type msgConn interface {
	net.Conn
	ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
	WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error)
}

// unixPair returns an accepted unix *Conn and its peer, dialed by package
// net or by uringnet.
func unixPair(t *testing.T, uringPeer bool) (*Conn, msgConn) {
	t.Helper()
	requireUring(t)
	ln, err := (&ListenConfig{Require: true}).Listen(bg, "unix", filepath.Join(t.TempDir(), "msg.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	dial := net.Dial
	if uringPeer {
		dial = Dial
	}
	sc, cl := acceptDialed(t, ln, dial)
	s := sc.(*Conn)
	s.SetDeadline(time.Now().Add(20 * time.Second))
	cl.SetDeadline(time.Now().Add(20 * time.Second))
	return s, cl.(msgConn)
}

// recvOff reports whether c's reads are left to the socket: the ring's recv
// has ended, so a message's control data stays with it.
func recvOff(c *Conn) bool {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	return c.c.direct && c.c.recvOff
}

// A descriptor goes from the peer to the conn and back through ReadMsgUnix
// and WriteMsgUnix, against package net's unix conn and against uringnet's.
func TestMsgUnixPassesDescriptors(t *testing.T) {
	readModes(t, func(t *testing.T) {
		for _, peer := range []string{"net", "uringnet"} {
			t.Run(peer, func(t *testing.T) {
				s, cl := unixPair(t, peer == "uringnet")
				pr, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer pr.Close()

				type msg struct {
					n, oobn, flags int
					err            error
				}
				buf, oob := make([]byte, 16), make([]byte, syscall.CmsgSpace(4))
				got := make(chan msg, 1)
				go func() {
					var m msg
					m.n, m.oobn, m.flags, _, m.err = s.ReadMsgUnix(buf, oob)
					got <- m
				}()
				waitFor(t, 10*time.Second, "ReadMsgUnix ended the ring's recv", func() bool { return recvOff(s) })
				if n, oobn, err := cl.WriteMsgUnix([]byte("pipe"), syscall.UnixRights(int(pw.Fd())), nil); err != nil || n != 4 || oobn == 0 {
					t.Fatalf("peer's WriteMsgUnix: %d %d %v", n, oobn, err)
				}
				pw.Close()
				var m msg
				within(t, 10*time.Second, "ReadMsgUnix", func() { m = <-got })
				if m.err != nil || string(buf[:m.n]) != "pipe" || m.flags&(syscall.MSG_TRUNC|syscall.MSG_CTRUNC) != 0 {
					t.Fatalf("ReadMsgUnix: %q oobn %d flags %#x %v", buf[:m.n], m.oobn, m.flags, m.err)
				}
				w := receivedFile(t, oob[:m.oobn])

				// The peer reads before the conn sends: a uringnet peer's
				// ring recv must end first (README: Limits).
				all := ""
				var backOOB []byte
				peerDone := make(chan error, 1)
				go func() {
					pbuf, poob := make([]byte, 16), make([]byte, syscall.CmsgSpace(4))
					for len(all) < len("first,back") {
						n, oobn, _, _, err := cl.ReadMsgUnix(pbuf, poob)
						if err != nil {
							peerDone <- err
							return
						}
						all += string(pbuf[:n])
						if oobn > 0 {
							backOOB = append(backOOB, poob[:oobn]...)
						}
					}
					peerDone <- nil
				}()
				if pc, ok := cl.(*Conn); ok {
					waitFor(t, 10*time.Second, "the peer's ReadMsgUnix ended its ring's recv", func() bool { return recvOff(pc) })
				}
				// Bytes queued by Writes go out before WriteMsgUnix's.
				if _, err := s.Write([]byte("first,")); err != nil {
					t.Fatal(err)
				}
				if n, oobn, err := s.WriteMsgUnix([]byte("back"), syscall.UnixRights(int(w.Fd())), nil); err != nil || n != 4 || oobn != len(syscall.UnixRights(0)) {
					t.Fatalf("WriteMsgUnix: %d %d %v", n, oobn, err)
				}
				w.Close()
				within(t, 10*time.Second, "the peer's ReadMsgUnix", func() { err = <-peerDone })
				if err != nil || all != "first,back" || backOOB == nil {
					t.Fatalf("peer read %q (descriptor %v): %v; want \"first,back\" and one", all, backOOB != nil, err)
				}
				back := receivedFile(t, backOOB)
				// The descriptor that made the round trip is the pipe's write end.
				back.Write([]byte("through the pipe"))
				back.Close()
				pr.SetReadDeadline(time.Now().Add(10 * time.Second))
				if b, err := io.ReadAll(pr); string(b) != "through the pipe" {
					t.Fatalf("pipe read: %q %v", b, err)
				}
				pingPong(t, s, cl)
			})
		}
	})
}

// Bytes the ring received before ReadMsgUnix come first, with no control
// messages; the next ReadMsgUnix reads the socket.
func TestReadMsgUnixReturnsQueuedBytesFirst(t *testing.T) {
	readsOnRing(t)
	s, cl := unixPair(t, false)
	cl.Write([]byte("ab"))
	buf := make([]byte, 1)
	if _, err := io.ReadFull(s, buf); err != nil || buf[0] != 'a' {
		t.Fatalf("Read: %q %v", buf, err)
	}
	// "b" came in the same recv and waits in the ring's queue.
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := s.ReadMsgUnix(make([]byte, 8), oob)
	if err != nil || n != 1 || oobn != 0 {
		t.Fatalf("ReadMsgUnix with \"b\" queued: n %d oobn %d %v", n, oobn, err)
	}
	got := make(chan error, 1)
	p := make([]byte, 8)
	go func() {
		n, oobn, _, _, err := s.ReadMsgUnix(p, oob)
		if err == nil && (string(p[:n]) != "fd" || oobn == 0) {
			err = errors.New("got " + string(p[:n]) + " without a descriptor")
		}
		got <- err
	}()
	waitFor(t, 10*time.Second, "ReadMsgUnix ended the ring's recv", func() bool { return recvOff(s) })
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cl.WriteMsgUnix([]byte("fd"), syscall.UnixRights(int(f.Fd())), nil)
	within(t, 10*time.Second, "ReadMsgUnix", func() { err = <-got })
	if err != nil {
		t.Fatal(err)
	}
}

// Errors have package net's shape: EOF wrapped as net's ReadMsgUnix wraps
// it, deadlines, Close, a TCP conn, an address of another network.
func TestMsgUnixErrors(t *testing.T) {
	readModes(t, func(t *testing.T) {
		s, cl := unixPair(t, false)
		b, oob := make([]byte, 8), make([]byte, 64)

		s.SetReadDeadline(time.Now().Add(-time.Second))
		_, _, _, _, err := s.ReadMsgUnix(b, oob)
		checkOpError(t, err, "read", os.ErrDeadlineExceeded)
		s.SetWriteDeadline(time.Now().Add(-time.Second))
		_, _, err = s.WriteMsgUnix([]byte("x"), nil, nil)
		checkOpError(t, err, "write", os.ErrDeadlineExceeded)
		s.SetDeadline(time.Now().Add(20 * time.Second))

		_, _, err = s.WriteMsgUnix([]byte("x"), nil, &net.UnixAddr{Name: "x", Net: "unixgram"})
		checkOpError(t, err, "write", syscall.EAFNOSUPPORT)

		cl.Close()
		var n int
		within(t, 10*time.Second, "ReadMsgUnix at EOF", func() { n, _, _, _, err = s.ReadMsgUnix(b, oob) })
		if n != 0 {
			t.Fatalf("ReadMsgUnix at EOF: n = %d", n)
		}
		checkOpError(t, err, "read", io.EOF)

		s.Close()
		_, _, _, _, err = s.ReadMsgUnix(b, oob)
		checkOpError(t, err, "read", net.ErrClosed)
		_, _, err = s.WriteMsgUnix([]byte("x"), nil, nil)
		checkOpError(t, err, "write", net.ErrClosed)
	})

	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	_, _, _, _, err := s.ReadMsgUnix(make([]byte, 8), nil)
	checkOpError(t, err, "read", errNotUnix)
	_, _, err = s.WriteMsgUnix([]byte("x"), nil, nil)
	checkOpError(t, err, "write", errNotUnix)
}

// Close ends a ReadMsgUnix that waits for a message.
func TestReadMsgUnixWaitsAndClose(t *testing.T) {
	readModes(t, func(t *testing.T) {
		s, _ := unixPair(t, false)
		got := make(chan error, 1)
		go func() {
			_, _, _, _, err := s.ReadMsgUnix(make([]byte, 8), nil)
			got <- err
		}()
		waitFor(t, 10*time.Second, "ReadMsgUnix ended the ring's recv", func() bool { return recvOff(s) })
		select {
		case err := <-got:
			t.Fatalf("ReadMsgUnix returned with nothing sent: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		s.Close()
		var err error
		within(t, 10*time.Second, "ReadMsgUnix after Close", func() { err = <-got })
		checkOpError(t, err, "read", net.ErrClosed)
	})
}
