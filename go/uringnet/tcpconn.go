package uringnet

import (
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
)

// Conn is a net.Conn served by io_uring. Besides net.Conn it has the
// methods of *net.TCPConn that a server reaches for, and on unix conns
// *net.UnixConn's ReadMsgUnix and WriteMsgUnix (unixmsg.go).
type Conn struct {
	c *conn
}

// newPublicConn wraps c. The finalizer is a safety net for conns that are
// dropped without Close; the loop's slot table holds only the inner conn.
func newPublicConn(c *conn) *Conn {
	pub := &Conn{c: c}
	runtime.SetFinalizer(pub, (*Conn).Close)
	return pub
}

// addrs returns the conn's addresses: set before the conn was handed out
// and never changed, so read without a lock or a descriptor reference.
func (pc *Conn) addrs() (laddr, raddr net.Addr) { return pc.c.laddr, pc.c.raddr }

// LocalAddr returns the local address.
func (pc *Conn) LocalAddr() net.Addr { laddr, _ := pc.addrs(); return laddr }

// RemoteAddr returns the peer's address.
func (pc *Conn) RemoteAddr() net.Addr { _, raddr := pc.addrs(); return raddr }

func (pc *Conn) err(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrapErr(op, pc.c.network(), pc.LocalAddr(), pc.RemoteAddr(), err)
}

// Read implements io.Reader. It parks the goroutine until data, EOF, an
// error, the read deadline or Close.
func (pc *Conn) Read(p []byte) (int, error) {
	n, err := pc.c.read(p)
	runtime.KeepAlive(pc)
	return n, pc.err("read", err)
}

// Write implements io.Writer. Concurrent Writes do not interleave. A Write
// of up to ListenConfig.WriteBuffer bytes (64 KiB by default) returns once
// its bytes are queued for the ring to send, as package net's returns once
// the socket buffer took them; a send error that comes later is reported by
// the next Write. A larger Write returns once the kernel has taken all of p
// (or an error says how much it took).
func (pc *Conn) Write(p []byte) (int, error) {
	n, err := pc.c.write(p)
	runtime.KeepAlive(pc)
	return n, pc.err("write", err)
}

// Close closes the connection. Blocked Read and Write calls return an error
// wrapping net.ErrClosed. In-flight kernel ops are cancelled before the
// descriptor is closed.
func (pc *Conn) Close() error {
	runtime.SetFinalizer(pc, nil)
	return pc.err("close", pc.c.close())
}

// SetDeadline sets the read and write deadlines.
func (pc *Conn) SetDeadline(t time.Time) error {
	if err := pc.SetReadDeadline(t); err != nil {
		return err
	}
	return pc.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for Read; zero means none. It may be
// called while a Read is blocked.
func (pc *Conn) SetReadDeadline(t time.Time) error {
	c := pc.c
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return pc.localErr("set", net.ErrClosed)
	}
	c.rdl.set(&c.r.deadlines, &c.cond, t)
	c.setDirectDeadlineLocked()
	kickLone(c) // a Read waiting in ppoll looks at the new deadline
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the deadline for Write; zero means none. A Write
// that times out returns how many bytes were taken; they will be sent.
func (pc *Conn) SetWriteDeadline(t time.Time) error {
	c := pc.c
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return pc.localErr("set", net.ErrClosed)
	}
	c.wdl.set(&c.r.deadlines, &c.cond, t)
	c.mu.Unlock()
	return nil
}

func (pc *Conn) isClosed() bool {
	pc.c.mu.Lock()
	defer pc.c.mu.Unlock()
	return pc.c.closed
}

// withFD runs fn on the descriptor unless the conn is closed. fn holds a
// reference (fdref.go): a conn closed meanwhile has its fd closed once fn
// returns, and fn may call c's methods, which take references of their own.
func (pc *Conn) withFD(op string, fn func(fd int) error) error {
	return pc.withFDAs(pc.err, op, fn)
}

// withFDAs is withFD with its error wrapped by wrap: pc.err, or
// pc.localErr for the calls whose errors name only the local address.
func (pc *Conn) withFDAs(wrap func(op string, err error) error, op string, fn func(fd int) error) error {
	c := pc.c
	if pc.isClosed() || !c.fdr.acquire() {
		return wrap(op, net.ErrClosed)
	}
	defer c.releaseFD() // also when fn, user code, panics
	return wrap(op, fn(c.fd))
}

// localErr wraps err as package net wraps the errors of the calls that
// name only the local address: the deadline setters, SetReadBuffer,
// SetWriteBuffer and RawConn's Control.
func (pc *Conn) localErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrapErr(op, pc.c.network(), nil, pc.LocalAddr(), err)
}

func sockErr(call string, err error) error {
	if err != nil {
		return os.NewSyscallError(call, err)
	}
	return nil
}

// CloseRead shuts down the reading side; later Reads return io.EOF once
// queued data is read.
func (pc *Conn) CloseRead() error {
	return pc.withFD("close", func(fd int) error {
		return sockErr("shutdown", syscall.Shutdown(fd, syscall.SHUT_RD))
	})
}

// CloseWrite shuts down the writing side: the peer reads EOF, after every
// byte written before, while this side can still read. Later Writes fail.
func (pc *Conn) CloseWrite() error {
	c := pc.c
	return pc.withFD("close", func(fd int) error {
		c.mu.Lock()
		c.wclosed.Store(true)
		queued := c.outActive
		if queued {
			c.shutAfterFlush = true // the loop shuts down once the outbox is sent
		}
		c.mu.Unlock()
		if queued {
			return nil
		}
		return sockErr("shutdown", syscall.Shutdown(fd, syscall.SHUT_WR))
	})
}

// SetNoDelay controls Nagle's algorithm (TCP_NODELAY; on by default).
func (pc *Conn) SetNoDelay(noDelay bool) error {
	if pc.c.unix {
		return nil
	}
	return pc.withFD("set", func(fd int) error {
		return sockErr("setsockopt", syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, boolInt(noDelay)))
	})
}

// SetKeepAlive enables TCP keep-alive probes.
func (pc *Conn) SetKeepAlive(keepalive bool) error {
	return pc.withFD("set", func(fd int) error {
		return sockErr("setsockopt", syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, boolInt(keepalive)))
	})
}

// SetKeepAlivePeriod sets the idle time before probes and the probe interval.
func (pc *Conn) SetKeepAlivePeriod(d time.Duration) error {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return pc.withFD("set", func(fd int) error {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, secs); err != nil {
			return sockErr("setsockopt", err)
		}
		return sockErr("setsockopt", syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, secs))
	})
}

// SetLinger sets SO_LINGER as (*net.TCPConn).SetLinger does: sec < 0 is the
// default (close in the background), 0 discards unsent data and resets.
func (pc *Conn) SetLinger(sec int) error {
	l := syscall.Linger{}
	if sec >= 0 {
		l.Onoff, l.Linger = 1, int32(sec)
	}
	return pc.withFD("set", func(fd int) error {
		if err := syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &l); err != nil {
			return sockErr("setsockopt", err)
		}
		pc.c.linger.Store(sec > 0) // a positive linger can block close(2)
		pc.c.mu.Lock()
		pc.c.discard = sec == 0 // Close drops queued bytes and resets
		pc.c.mu.Unlock()
		return nil
	})
}

// SetReadBuffer sets the socket's receive buffer size (SO_RCVBUF), as
// (*net.TCPConn).SetReadBuffer does. The recv buffers the ring fills are
// apart from it (ListenConfig's buffer pool).
func (pc *Conn) SetReadBuffer(bytes int) error {
	return pc.withFDAs(pc.localErr, "set", func(fd int) error {
		return sockErr("setsockopt", syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, bytes))
	})
}

// SetWriteBuffer sets the socket's send buffer size (SO_SNDBUF), as
// (*net.TCPConn).SetWriteBuffer does. The outbox (bytes Write has taken and
// the kernel not yet) is apart from it.
func (pc *Conn) SetWriteBuffer(bytes int) error {
	return pc.withFDAs(pc.localErr, "set", func(fd int) error {
		return sockErr("setsockopt", syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, bytes))
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
