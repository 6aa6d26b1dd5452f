package uringnet

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

// errRawIO explains why a listener's RawConn.Read and Write are refused.
var errRawIO = errors.New("uringnet: a listener's RawConn.Read/Write are not supported: its io_uring accept owns the socket; use Control")

// SyscallConn returns a raw connection, as (*net.TCPConn).SyscallConn
// does. Control runs with the descriptor held open (for getsockopt,
// setsockopt and the like). Read and Write call their function until it
// returns true, parking until the socket is readable or writable between
// calls, within the conn's deadlines (rawio.go): the socket is
// non-blocking from the first such call on. Read fails if bytes the ring
// received are still queued for Read; Write first waits until the bytes
// earlier Writes queued are sent. As with package net, a closed conn
// still returns one, and its calls fail with net.ErrClosed.
func (pc *Conn) SyscallConn() (syscall.RawConn, error) {
	return rawConn{pc}, nil
}

type rawConn struct{ pc *Conn }

func (rc rawConn) Control(f func(fd uintptr)) error {
	return rc.pc.withFDAs(rc.pc.localErr, "raw-control", func(fd int) error {
		f(uintptr(fd))
		return nil
	})
}

func (rc rawConn) Read(f func(fd uintptr) bool) error {
	err := rc.pc.c.rawRead(f)
	runtime.KeepAlive(rc.pc)
	return rc.pc.err("raw-read", err)
}

func (rc rawConn) Write(f func(fd uintptr) bool) error {
	err := rc.pc.c.rawWrite(f)
	runtime.KeepAlive(rc.pc)
	return rc.pc.err("raw-write", err)
}

// File returns a copy of the underlying socket as an *os.File, as
// (*net.TCPConn).File does: blocking, unless SyscallConn's Read or Write
// has run. Closing one does not affect the other; reading from the copy
// competes with this conn's reads.
func (pc *Conn) File() (*os.File, error) {
	var f *os.File
	err := pc.withFD("file", func(fd int) (err error) {
		f, err = fileCopy(fd, "uringnet-conn")
		return err
	})
	return f, err
}

// fileCopy returns a close-on-exec duplicate of fd as an *os.File. The
// caller holds fd open (withFD).
func fileCopy(fd int, name string) (*os.File, error) {
	dup, err := dupCloexec(fd)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(dup), name), nil
}

// SyscallConn returns a raw listening socket, as (*net.TCPListener).
// SyscallConn does. Control runs with the descriptor held open (f must not
// close the listener); Read and Write are refused: the ring's multishot
// accept owns the socket. As with package net, a closed listener still
// returns one, and its Control fails with net.ErrClosed.
func (ln *Listener) SyscallConn() (syscall.RawConn, error) {
	return rawListener{ln}, nil
}

type rawListener struct{ ln *Listener }

func (rl rawListener) Control(f func(fd uintptr)) error {
	return rl.err("raw-control", rl.ln.l.withFD(func(fd int) error {
		f(uintptr(fd))
		return nil
	}))
}

func (rl rawListener) Read(func(fd uintptr) bool) error  { return rl.err("raw-read", errRawIO) }
func (rl rawListener) Write(func(fd uintptr) bool) error { return rl.err("raw-write", errRawIO) }

func (rl rawListener) err(op string, err error) error {
	return wrapErr(op, rl.ln.l.network, nil, rl.ln.l.addr, err)
}

// File returns a copy of the listening socket as an *os.File in blocking
// mode, as (*net.TCPListener).File does (for handing the socket to a child
// process). Closing one does not affect the other; accepting on the copy
// competes with this listener's accepts.
func (ln *Listener) File() (*os.File, error) {
	var f *os.File
	err := ln.l.withFD(func(fd int) (err error) {
		f, err = fileCopy(fd, "uringnet-listener")
		return err
	})
	if err != nil {
		return nil, wrapErr("file", ln.l.network, nil, ln.l.addr, err)
	}
	return f, nil
}
