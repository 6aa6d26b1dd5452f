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

// The same script of failing calls against a package net listener and a
// uringnet one: every error must read the same, addresses aside (type,
// Op, Net, which addresses it names, the cause, Timeout()).
func TestErrorsAsPackageNet(t *testing.T) {
	requireUring(t)
	readModes(t, func(t *testing.T) {
		std := errorScript(t, func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }, net.Dial)
		ours := errorScript(t, func() (net.Listener, error) {
			return (&ListenConfig{Require: true}).Listen(bg, "tcp", "127.0.0.1:0")
		}, Dial)
		if len(std) != len(ours) {
			t.Fatalf("scripts differ in length: %d and %d", len(std), len(ours))
		}
		for i := range std {
			if std[i] != ours[i] {
				t.Errorf("package net: %s\n           uringnet:    %s", std[i], ours[i])
			}
		}
	})
}

// errorScript runs the failing calls on conns of listen's listener and
// describes each result with the addresses replaced by their roles.
func errorScript(t *testing.T, listen func() (net.Listener, error), dial func(network, address string) (net.Conn, error)) []string {
	var out []string
	ln, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var roles *strings.Replacer
	note := func(step string, n int, err error) {
		s := fmt.Sprintf("%s: n=%d %T", step, n, err)
		if err != nil {
			s += " " + roles.Replace(err.Error())
			var ne net.Error
			s += fmt.Sprintf(" timeout=%v", errors.As(err, &ne) && ne.Timeout())
		}
		out = append(out, s)
	}
	accept := func() (net.Conn, net.Conn) {
		t.Helper()
		got := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			got <- c
		}()
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		var s net.Conn
		select {
		case s = <-got:
		case <-time.After(10 * time.Second):
		}
		if s == nil {
			t.Fatal("accept failed or timed out")
		}
		roles = strings.NewReplacer(s.LocalAddr().String(), "SERVER", s.RemoteAddr().String(), "CLIENT")
		return s, cl
	}
	buf := make([]byte, 8)

	s, cl := accept()
	n, err := s.Read(nil)
	note("Read(nil)", n, err)
	n, err = s.Write(nil)
	note("Write(nil)", n, err)
	s.SetReadDeadline(time.Now().Add(-time.Second))
	n, err = s.Read(buf)
	note("Read past its deadline", n, err)
	s.SetDeadline(time.Now().Add(10 * time.Second))
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

	roles = strings.NewReplacer(ln.Addr().String(), "SERVER")
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
	return out
}
