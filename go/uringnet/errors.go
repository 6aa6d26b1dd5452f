package uringnet

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// errTimeout is what a passed deadline returns (Timeout() is true).
var errTimeout = os.ErrDeadlineExceeded

// ErrUnavailable wraps the reason io_uring cannot be used, as returned by
// Available and by a ListenConfig with Require set.
var ErrUnavailable = errors.New("uringnet: io_uring unavailable")

// wrapErr turns an engine error into what package net would return for op.
// io.EOF is returned as is; syscall errors become *os.SyscallError.
func wrapErr(op, network string, src, dst net.Addr, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: network, Source: src, Addr: dst, Err: err}
}
