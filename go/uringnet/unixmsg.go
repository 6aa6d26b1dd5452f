package uringnet

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
)

// ReadMsgUnix and WriteMsgUnix, as (*net.UnixConn)'s, for descriptors
// (SCM_RIGHTS) and credentials passed over a unix conn. They run on the
// conn's RawConn Read and Write (rawio.go), with the same rules: within the
// conn's deadlines, a write after every byte earlier Writes queued, and the
// ring's recv ended first, since it keeps no control messages (README:
// Limits).

// errNotUnix is the answer of ReadMsgUnix and WriteMsgUnix on a TCP conn.
var errNotUnix = errors.New("uringnet: ReadMsgUnix and WriteMsgUnix need a unix conn")

// ReadMsgUnix reads a message into b and its control messages into oob, as
// (*net.UnixConn).ReadMsgUnix does: descriptors arrive close-on-exec, flags
// are recvmsg's, and addr is the sender's bound address, if any. Bytes the
// ring received before this call and no Read returned come first, alone:
// n of them, no control messages. As with package net's, an empty b with
// a non-empty oob still takes one byte of the stream and reports n = 1
// (control messages need a byte to ride on), and an empty b with no oob
// reads nothing and reports io.EOF. Errors are *net.OpError with Op
// "read", io.EOF included, as package net's.
func (pc *Conn) ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	defer runtime.KeepAlive(pc)
	if !pc.c.unix {
		return 0, 0, 0, nil, pc.msgErr("read", errNotUnix)
	}
	var sa syscall.Sockaddr
	var rerr error
	err = pc.c.rawRead(func(fd uintptr) bool {
		for {
			n, oobn, flags, sa, rerr = syscall.Recvmsg(int(fd), b, oob, syscall.MSG_CMSG_CLOEXEC)
			if rerr != syscall.EINTR {
				return rerr != syscall.EAGAIN
			}
		}
	})
	switch {
	case errors.Is(err, errRawReadQueued):
		// What recvmsg(2) would have read, with the flag the kernel
		// echoes. With an empty b, syscall.Recvmsg reads one byte of its
		// own where oob asks for control messages, and nothing otherwise,
		// which package net reports as EOF.
		p := b
		if len(p) == 0 {
			if len(oob) == 0 {
				return 0, 0, syscall.MSG_CMSG_CLOEXEC, nil, pc.msgErr("read", io.EOF)
			}
			p = make([]byte, 1)
		}
		n, err = pc.c.read(p)
		return n, 0, syscall.MSG_CMSG_CLOEXEC, nil, pc.msgErr("read", err)
	case err != nil:
		return 0, 0, 0, nil, pc.msgErr("read", err)
	case rerr != nil:
		return 0, 0, 0, nil, pc.msgErr("read", os.NewSyscallError("recvmsg", rerr))
	}
	if u, ok := sa.(*syscall.SockaddrUnix); ok && u.Name != "" {
		addr = &net.UnixAddr{Name: u.Name, Net: "unix"}
	}
	if n == 0 { // also for an empty b (see above), as package net's
		return 0, oobn, flags, addr, pc.msgErr("read", io.EOF)
	}
	return n, oobn, flags, addr, nil
}

// WriteMsgUnix writes b and the control messages in oob (for example
// syscall.UnixRights), as (*net.UnixConn).WriteMsgUnix does: one sendmsg,
// after every byte earlier Writes queued is sent, within the write
// deadline. A message with oob and no bytes carries one byte, as package
// net's does. addr is for unconnected sockets; a conn is connected, so
// leave it nil. Errors are *net.OpError with Op "write".
func (pc *Conn) WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error) {
	defer runtime.KeepAlive(pc)
	// As package net's, errors name the local address and addr.
	var dst net.Addr
	if addr != nil {
		dst = addr
	}
	wrap := func(err error) error { return wrapErr("write", pc.c.network(), pc.LocalAddr(), dst, err) }
	if !pc.c.unix {
		return 0, 0, wrap(errNotUnix)
	}
	var sa syscall.Sockaddr
	if addr != nil {
		if addr.Net != "unix" { // a bare errno here, as package net's
			return 0, 0, &net.OpError{Op: "write", Net: pc.c.network(), Source: pc.LocalAddr(), Addr: dst, Err: syscall.EAFNOSUPPORT}
		}
		sa = &syscall.SockaddrUnix{Name: addr.Name}
	}
	var werr error
	err = pc.c.rawWrite(func(fd uintptr) bool {
		for {
			n, werr = syscall.SendmsgN(int(fd), b, oob, sa, syscall.MSG_NOSIGNAL)
			if werr != syscall.EINTR {
				return werr != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil:
		return 0, 0, wrap(err)
	case werr != nil:
		return n, 0, wrap(os.NewSyscallError("sendmsg", werr))
	}
	return n, len(oob), nil
}

// msgErr wraps err as package net wraps ReadMsgUnix's errors: a
// *net.OpError, io.EOF included.
func (pc *Conn) msgErr(op string, err error) error {
	if err == io.EOF {
		return &net.OpError{Op: op, Net: pc.c.network(), Source: pc.LocalAddr(), Addr: pc.RemoteAddr(), Err: io.EOF}
	}
	return pc.err(op, err)
}
