package uringnet

import (
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/uringnet/uringnet/go/internal/shim"
)

// Raw I/O: SyscallConn().Read and Write run the caller's function on the
// socket, as package net's do: f is called until it returns true, and
// between calls the goroutine parks until the socket is readable (or has
// room). Libraries use them for their own system calls: a pool's liveness
// check (a non-blocking read that must find nothing), recvmsg with control
// messages.
//
// The rules that keep the ring's ops and f apart:
//   - Read: the ring's recv owns the socket's reads, so RawConn.Read first
//     ends it, the way a Read switching to direct mode does (direct.go),
//     and waits in the netpoller on the conn's direct reader. Bytes the
//     ring took before that and no Read consumed cannot be handed to f: it
//     then fails (errRawReadQueued), and Read still returns them.
//   - Write: RawConn.Write holds wmu and waits for the outbox to drain, so
//     no send of the ring's is in flight while f writes, and bytes stay in
//     order. It waits for room with a one-shot POLLOUT poll on the ring,
//     which the write deadline and Close end as they end a send.
//   - f expects a non-blocking socket (EAGAIN, not a blocked thread), so
//     the first raw call makes the socket O_NONBLOCK for good. The ring's
//     recv and send then end with EAGAIN where the kernel runs them
//     without waiting (an io-wq worker); those are re-issued (conn.go).

// errRawReadQueued is RawConn.Read's answer when the ring has already
// received bytes that Read has not returned: f would read past them.
var errRawReadQueued = errors.New("uringnet: RawConn.Read: received bytes are queued for Read; Read them first")

// rawRead runs f for RawConn.Read.
func (c *conn) rawRead(f func(fd uintptr) bool) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if err := c.takeReads(); err != nil {
		return err
	}
	// The reference keeps fd open while f may run; Close wakes a wait by
	// closing the direct reader.
	if err := c.acquireNonblocking(); err != nil {
		return err
	}
	defer c.releaseFD()
	if f(uintptr(c.fd)) {
		return nil
	}
	c.mu.Lock()
	dr := c.dr
	c.mu.Unlock()
	for {
		if dr == nil {
			var err error
			if dr, err = c.openDirectReader(); err != nil {
				return err
			}
		}
		// f runs inside the netpoller's RawConn.Read, after it clears the
		// readiness it last saw, as package net calls it: a readiness that
		// came before f's EAGAIN is not lost.
		err := dr.rc.Read(func(uintptr) bool { return f(uintptr(c.fd)) })
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return net.ErrClosed // the file was closed: only Close does that
		case c.rdl.expired():
			return errTimeout
		}
		// The idle limit on the file passed, not the conn's deadline.
		c.mu.Lock()
		if c.dr == dr {
			c.syncDirectDeadlineLocked(true)
		}
		c.mu.Unlock()
	}
}

// takeReads ends the ring's recv on c so that the socket's bytes are left
// to a RawConn.Read function: c goes to direct mode, and this waits for the
// recv's last CQE (the loop then sets recvOff). rmu is held.
func (c *conn) takeReads() error {
	for {
		c.mu.Lock()
		if err := c.blockedLocked(&c.rdl); err != nil {
			c.mu.Unlock()
			return err
		}
		if int(c.rhead) < len(c.rq) {
			c.mu.Unlock()
			return errRawReadQueued
		}
		if c.rerr != nil {
			// The recv has ended (EOF or an error), and nothing re-arms it.
			c.direct, c.recvOff = true, true
		}
		if c.direct && c.recvOff {
			c.mu.Unlock()
			return nil
		}
		if !c.direct {
			c.direct = true
			c.mu.Unlock()
			if !c.r.submit(request{kind: reqStopRecv, c: c}) {
				return net.ErrClosed
			}
			continue
		}
		c.rdl.waitLocked(&c.r.deadlines, &c.cond)
		c.mu.Unlock()
	}
}

// rawWrite runs f for RawConn.Write.
func (c *conn) rawWrite(f func(fd uintptr) bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.drain(); err != nil {
		return err
	}
	if err := c.acquireNonblocking(); err != nil {
		return err
	}
	defer c.releaseFD()
	for !f(uintptr(c.fd)) {
		if err := c.waitWritable(); err != nil {
			return err
		}
	}
	return nil
}

// waitWritable parks until the socket has room for more, through a POLLOUT
// poll on the ring; the write deadline cancels it as it cancels a send
// (waitSend), and Close cancels it with the conn's other ops. wmu is held.
func (c *conn) waitWritable() error {
	c.mu.Lock()
	if err := c.blockedLocked(&c.wdl); err != nil {
		c.mu.Unlock()
		return err
	}
	c.sendDone = false
	c.mu.Unlock()
	if !c.r.submit(request{kind: reqPollOut, c: c}) {
		return net.ErrClosed
	}
	_, err := c.waitSend()
	return err
}

// startPollOut issues waitWritable's poll as the conn's send op: it shares
// the send's state (sending, sendCancelled, sendDone), so the deadline's
// cancel and Close's find it. Loop only.
func (r *ring) startPollOut(c *conn) {
	if c.closing {
		c.sendTotal = 0
		c.finishSend(sendClosed)
		return
	}
	c.sending, c.pollingOut, c.sendCancelled = true, true, false
	c.sendTotal = 0
	c.inflight++
	r.addOp(shim.Op{UserData: userData(c.slot, opSend), FD: int32(c.fd), Kind: shim.OpPollOut})
}

// onPollOut handles the poll's CQE: any readiness (room, or an error or
// hang-up that f's next write reports) lets f run again. Loop only.
func (c *conn) onPollOut(r *ring, res int32) {
	c.inflight--
	c.pollingOut = false
	switch {
	case c.closing:
		c.finishSend(sendClosed)
	case res >= 0:
		c.finishSend(sendOK)
	case c.sendCancelled:
		c.finishSend(sendCancelled)
	default:
		c.finishSend(sendCode(-res))
	}
}

// acquireNonblocking takes a reference on fd (give it back with
// releaseFD) and makes the socket O_NONBLOCK for good, once: RawConn
// functions expect EAGAIN where a blocking socket would block the thread.
// The flag changes only under c.mu (newDirectReader sets it for a moment).
func (c *conn) acquireNonblocking() error {
	if !c.fdr.acquire() {
		return net.ErrClosed
	}
	var err error
	c.mu.Lock()
	if !c.nonblock {
		if err = syscall.SetNonblock(c.fd, true); err == nil {
			c.nonblock = true
		}
	}
	c.mu.Unlock()
	if err != nil {
		c.releaseFD()
		return os.NewSyscallError("fcntl", err)
	}
	return nil
}
