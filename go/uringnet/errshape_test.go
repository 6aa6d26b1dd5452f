package uringnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The same scripts of failing calls against package net's listeners and
// uringnet's: every error must read the same, addresses aside (type, Op,
// Net, which addresses it names, the cause, Timeout()).
func TestErrorsAsPackageNet(t *testing.T) {
	requireUring(t)
	uring := func(network, address string) (net.Listener, error) {
		return (&ListenConfig{Require: true}).Listen(bg, network, address)
	}
	compare := func(t *testing.T, std, ours []string) {
		if len(std) != len(ours) {
			t.Fatalf("scripts differ in length: %d and %d", len(std), len(ours))
		}
		for i := range std {
			if std[i] != ours[i] {
				t.Errorf("package net: %s\n           uringnet:    %s", std[i], ours[i])
			}
		}
	}
	readModes(t, func(t *testing.T) {
		t.Run("tcp", func(t *testing.T) {
			compare(t, errorScript(t, net.Listen, net.Dial), errorScript(t, uring, Dial))
		})
		t.Run("unix", func(t *testing.T) {
			dir := t.TempDir()
			compare(t, unixErrorScript(t, net.Listen, net.Dial, dir+"/net.sock"),
				unixErrorScript(t, uring, Dial, dir+"/uring.sock"))
		})
	})
}

type listenFunc func(network, address string) (net.Listener, error)

// errorLog describes each step's result with the addresses replaced by
// their roles.
type errorLog struct {
	roles *strings.Replacer
	out   []string
}

func (l *errorLog) note(step string, n int, err error) {
	s := fmt.Sprintf("%s: n=%d %T", step, n, err)
	if err != nil {
		var ne net.Error
		s += fmt.Sprintf(" %v timeout=%v", err, errors.As(err, &ne) && ne.Timeout())
	}
	l.out = append(l.out, l.roles.Replace(s))
}

// name makes l write each pair's second string for its first from now on.
func (l *errorLog) name(pairs ...string) {
	var kept []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] != "" { // an empty old string would match everywhere
			kept = append(kept, pairs[i], pairs[i+1])
		}
	}
	l.roles = strings.NewReplacer(kept...)
}

// acceptPair returns an accepted conn of ln and its peer from dial, and
// names their addresses in l.
func acceptPair(t *testing.T, ln net.Listener, dial dialFunc, l *errorLog) (net.Conn, net.Conn) {
	t.Helper()
	s, cl := acceptDialed(t, ln, dial)
	l.name(s.LocalAddr().String(), "SERVER", s.RemoteAddr().String(), "CLIENT")
	return s, cl
}

// errorScript runs the failing calls on TCP conns of a listener from listen.
func errorScript(t *testing.T, listen listenFunc, dial dialFunc) []string {
	ln, err := listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := &errorLog{}
	note := l.note
	accept := func() (net.Conn, net.Conn) { return acceptPair(t, ln, net.Dial, l) }
	buf := make([]byte, 8)

	s, cl := accept()
	n, err := s.Read(nil)
	note("Read(nil)", n, err)
	n, err = s.Write(nil)
	note("Write(nil)", n, err)
	s.SetReadDeadline(time.Now().Add(-time.Second))
	n, err = s.Read(buf)
	note("Read past its deadline", n, err)
	n, err = s.Read(nil)
	note("Read(nil) past its deadline", n, err)
	cl.Write([]byte("ab"))
	waitUnread(t, s)
	n, err = s.Read(buf)
	note("Read past its deadline, bytes waiting", n, err)
	s.SetDeadline(time.Now().Add(10 * time.Second))
	n, err = io.ReadFull(s, buf[:2])
	note("ReadFull of those bytes", n, err)
	note("CloseRead", 0, s.(interface{ CloseRead() error }).CloseRead())
	n, err = s.Read(buf)
	note("Read after CloseRead", n, err)
	note("CloseWrite", 0, s.(interface{ CloseWrite() error }).CloseWrite())
	n, err = s.Write([]byte("x"))
	note("Write after CloseWrite", n, err)
	note("Close", 0, s.Close())
	note("Close again", 0, s.Close())
	n, err = s.Read(buf)
	note("Read after Close", n, err)
	n, err = s.Write([]byte("x"))
	note("Write after Close", n, err)
	note("SetDeadline after Close", 0, s.SetDeadline(time.Now()))
	note("SetReadDeadline after Close", 0, s.SetReadDeadline(time.Now()))
	note("SetWriteDeadline after Close", 0, s.SetWriteDeadline(time.Now()))
	note("CloseRead after Close", 0, s.(interface{ CloseRead() error }).CloseRead())
	note("CloseWrite after Close", 0, s.(interface{ CloseWrite() error }).CloseWrite())
	sock := s.(interface {
		SetNoDelay(bool) error
		SetKeepAlive(bool) error
		SetKeepAlivePeriod(time.Duration) error
		SetLinger(int) error
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
		File() (*os.File, error)
		SyscallConn() (syscall.RawConn, error)
	})
	note("SetNoDelay after Close", 0, sock.SetNoDelay(true))
	note("SetKeepAlive after Close", 0, sock.SetKeepAlive(true))
	note("SetKeepAlivePeriod after Close", 0, sock.SetKeepAlivePeriod(time.Second))
	note("SetLinger after Close", 0, sock.SetLinger(1))
	note("SetReadBuffer after Close", 0, sock.SetReadBuffer(4096))
	note("SetWriteBuffer after Close", 0, sock.SetWriteBuffer(4096))
	_, err = sock.File()
	note("File after Close", 0, err)
	rc, err := sock.SyscallConn()
	note("SyscallConn after Close", 0, err)
	note("RawConn Control after Close", 0, rc.Control(func(uintptr) {}))
	note("RawConn Read after Close", 0, rc.Read(func(uintptr) bool { return true }))
	note("RawConn Write after Close", 0, rc.Write(func(uintptr) bool { return true }))
	cl.Close()

	s, cl = accept()
	cl.(*net.TCPConn).SetLinger(0)
	cl.Close() // a reset
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err = s.Read(buf)
	note("Read after the peer's reset", n, err)
	s.Close()

	s, cl = accept()
	cl.Write([]byte("bye"))
	cl.Close()
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(s)
	note("ReadAll to the peer's close", len(b), err)
	n, err = s.Read(buf)
	note("Read after EOF", n, err)
	s.Close()

	l.name(ln.Addr().String(), "SERVER")
	type deadliner interface{ SetDeadline(time.Time) error }
	ln.(deadliner).SetDeadline(time.Now().Add(-time.Second))
	_, err = ln.Accept()
	note("Accept past its deadline", 0, err)
	note("Listener Close", 0, ln.Close())
	note("Listener Close again", 0, ln.Close())
	_, err = ln.Accept()
	note("Accept after Close", 0, err)
	note("Listener SetDeadline after Close", 0, ln.(deadliner).SetDeadline(time.Now()))
	lsock := ln.(interface {
		File() (*os.File, error)
		SyscallConn() (syscall.RawConn, error)
	})
	_, err = lsock.File()
	note("Listener File after Close", 0, err)
	lrc, err := lsock.SyscallConn()
	note("Listener SyscallConn after Close", 0, err)
	note("Listener RawConn Control after Close", 0, lrc.Control(func(uintptr) {}))
	_, err = dial("tcp", ln.Addr().String())
	note("Dial to the closed listener", 0, err)
	return l.out
}

// unixErrorScript runs the failing calls on unix conns of a listener from
// listen at path: those *net.UnixConn has, ReadMsgUnix and WriteMsgUnix
// among them.
func unixErrorScript(t *testing.T, listen listenFunc, dial dialFunc, path string) []string {
	ln, err := listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := &errorLog{}
	buf := make([]byte, 8)

	s, cl := acceptPair(t, ln, dial, l)
	l.note(fmt.Sprintf("addresses %#v %#v", s.LocalAddr(), s.RemoteAddr()), 0, nil)
	s.SetReadDeadline(time.Now().Add(-time.Second))
	n, err := s.Read(buf)
	l.note("Read past its deadline", n, err)
	s.SetReadDeadline(time.Now().Add(-time.Second))
	n, _, _, _, err = s.(msgConn).ReadMsgUnix(buf, nil)
	l.note("ReadMsgUnix past its deadline", n, err)
	s.SetDeadline(time.Now().Add(10 * time.Second))
	_, _, err = s.(msgConn).WriteMsgUnix([]byte("x"), nil, &net.UnixAddr{Name: "x", Net: "unixgram"})
	l.note("WriteMsgUnix to a unixgram address", 0, err)
	l.note("CloseWrite", 0, s.(interface{ CloseWrite() error }).CloseWrite())
	n, err = s.Write([]byte("x"))
	l.note("Write after CloseWrite", n, err)
	l.note("Close", 0, s.Close())
	l.note("Close again", 0, s.Close())
	n, err = s.Read(buf)
	l.note("Read after Close", n, err)
	l.note("SetDeadline after Close", 0, s.SetDeadline(time.Now()))
	_, err = s.(interface{ File() (*os.File, error) }).File()
	l.note("File after Close", 0, err)
	rc, _ := s.(syscall.Conn).SyscallConn()
	l.note("RawConn Control after Close", 0, rc.Control(func(uintptr) {}))
	n, _, _, _, err = s.(msgConn).ReadMsgUnix(buf, nil)
	l.note("ReadMsgUnix after Close", n, err)
	n, _, err = s.(msgConn).WriteMsgUnix(buf, nil, nil)
	l.note("WriteMsgUnix after Close", n, err)
	cl.Close()

	// An empty b with an oob takes a byte of the stream (syscall.Recvmsg
	// reads into one of its own), and with none reads nothing: EOF in
	// package net's words. With ring reads, the bytes are queued.
	s, cl = acceptPair(t, ln, dial, l)
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	cl.Write([]byte("abcd"))
	n, err = io.ReadFull(s, buf[:1])
	l.note("ReadFull of one byte", n, err)
	oob := make([]byte, 64)
	n, oobn, flags, _, err := s.(msgConn).ReadMsgUnix(nil, nil)
	l.note(fmt.Sprintf("ReadMsgUnix(nil, nil): oobn=%d flags=%#x", oobn, flags), n, err)
	n, oobn, flags, _, err = s.(msgConn).ReadMsgUnix(nil, oob)
	l.note(fmt.Sprintf("ReadMsgUnix(nil, oob): oobn=%d flags=%#x", oobn, flags), n, err)
	n, err = s.Read(buf)
	l.note("Read of the rest", n, err)
	cl.Write([]byte("bye"))
	cl.Close()
	b, err := io.ReadAll(s)
	l.note("ReadAll to the peer's close", len(b), err)
	n, _, _, _, err = s.(msgConn).ReadMsgUnix(buf, nil)
	l.note("ReadMsgUnix at EOF", n, err)
	n, oobn, flags, _, err = s.(msgConn).ReadMsgUnix(nil, nil)
	l.note(fmt.Sprintf("ReadMsgUnix(nil, nil) at EOF: oobn=%d flags=%#x", oobn, flags), n, err)
	n, oobn, flags, _, err = s.(msgConn).ReadMsgUnix(nil, oob)
	l.note(fmt.Sprintf("ReadMsgUnix(nil, oob) at EOF: oobn=%d flags=%#x", oobn, flags), n, err)
	s.Close()

	l.name(path, "PATH")
	l.note("Listener Close", 0, ln.Close())
	l.note("Listener Close again", 0, ln.Close())
	_, err = ln.Accept()
	l.note("Accept after Close", 0, err)
	_, err = dial("unix", path)
	l.note("Dial to the closed listener", 0, err)
	return l.out
}
