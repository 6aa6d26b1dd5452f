package uringnet

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// errRawIO explains why RawConn.Read and Write are refused.
var errRawIO = errors.New("uringnet: RawConn.Read/Write are not supported: the socket's reads belong to its io_uring recv; use Control")

// SyscallConn returns a raw connection. Control runs with the descriptor
// held open (for getsockopt/setsockopt and the like). Read and Write are not
// supported and return an error: a readiness loop on the descriptor would
// race with the ring's multishot recv, which owns the socket's reads.
func (pc *Conn) SyscallConn() (syscall.RawConn, error) {
	if pc.isClosed() {
		return nil, pc.err("raw-control", net.ErrClosed)
	}
	return rawConn{pc}, nil
}

type rawConn struct{ pc *Conn }

func (rc rawConn) Control(f func(fd uintptr)) error {
	return rc.pc.withFD("raw-control", func(fd int) error {
		f(uintptr(fd))
		return nil
	})
}

func (rc rawConn) Read(func(fd uintptr) bool) error {
	return rc.pc.err("raw-read", errRawIO)
}

func (rc rawConn) Write(func(fd uintptr) bool) error {
	return rc.pc.err("raw-write", errRawIO)
}

// File returns a copy of the underlying socket as an *os.File in blocking
// mode, as (*net.TCPConn).File does. Closing one does not affect the other;
// reading from the copy competes with this conn's reads.
func (pc *Conn) File() (*os.File, error) {
	var f *os.File
	err := pc.withFD("file", func(fd int) error {
		dup, err := dupCloexec(fd)
		if err == nil {
			f = os.NewFile(uintptr(dup), "uringnet-conn")
		}
		return err
	})
	return f, err
}
