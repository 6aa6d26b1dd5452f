package uringnet

import (
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// blockedLocked says why the conn cannot do I/O in dl's direction now:
// closed, or dl passed. c.mu is held.
func (c *conn) blockedLocked(dl *deadline) error {
	if c.closed {
		return net.ErrClosed
	}
	if dl.expired() {
		return errTimeout
	}
	return nil
}

// read implements Read for user goroutines: it copies from received buffers
// and gives fully read buffers back to the ring.
func (c *conn) read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if n := c.r.cfg.directConns; n > 0 {
		c.r.activity.note(c, uint32(4*n))
	}
	idled := false // this Read's direct wait passed the idle limit: wait on the ring
	for {
		c.mu.Lock()
		// A Read between two Writes: the next Write may send(2) itself
		// again (outbox.go).
		c.directSends = 0
		if len(p) == 0 && !c.closed { // as package net's: no wait, even past the deadline
			c.mu.Unlock()
			return 0, nil
		}
		if err := c.blockedLocked(&c.rdl); err != nil {
			c.mu.Unlock()
			return 0, err
		}
		if int(c.rhead) < len(c.rq) {
			var doneIDs [8]uint16 // on the stack: most Reads finish a few buffers
			n, done := c.consume(p, doneIDs[:0])
			resume := c.recvPaused && len(c.rq)-int(c.rhead) <= c.r.cfg.connBufs/2
			if resume {
				c.recvPaused = false
			}
			c.mu.Unlock()
			if len(done) > 0 {
				c.r.returnBufs(done)
			}
			if resume {
				c.r.submit(request{kind: reqArmRecv, c: c})
			}
			return n, nil
		}
		if c.rerr != nil {
			err := c.rerr
			c.mu.Unlock()
			return 0, err
		}
		// Nothing queued: pick the mode for this wait (direct.go).
		switch {
		case c.direct && c.recvOff && !c.r.directLoad(false):
			c.mu.Unlock()
			c.leaveDirect(false)
			continue
		case c.direct && c.recvOff:
			dr := c.dr
			if dr != nil {
				c.syncDirectDeadlineLocked(false)
			}
			c.mu.Unlock()
			if n, err, done := c.readDirect(dr, p); done {
				return n, err
			}
			idled = true
			continue
		case !c.direct && !c.noDirect && !idled && c.r.directLoad(true):
			// Wait for the loop to end the recv (it sets recvOff), after
			// looking again at what it queued meanwhile.
			c.direct = true
			c.mu.Unlock()
			c.r.submit(request{kind: reqStopRecv, c: c})
			continue
		}
		c.rdl.waitLocked(&c.r.deadlines, &c.cond)
		c.mu.Unlock()
	}
}

// consume copies queued bytes into p and appends the ids of the buffers it
// finished to done. c.mu must be held: the loop gives a closed conn's
// buffers back under c.mu, so they stay ours while we copy.
func (c *conn) consume(p []byte, done []uint16) (int, []uint16) {
	n := 0
	for n < len(p) && int(c.rhead) < len(c.rq) {
		b := &c.rq[c.rhead]
		k := copy(p[n:], c.r.sr.Buffer(b.bid, int(b.off), int(b.n))[c.roff:])
		n += k
		c.roff += int32(k)
		if c.roff == int32(b.n) {
			done = append(done, b.bid)
			c.rhead++
			c.roff = 0
		}
	}
	if int(c.rhead) == len(c.rq) {
		c.rq, c.rhead = c.rq[:0], 0
	}
	return n, done
}

// write implements Write. Writes up to cfg.writeBuf bytes go through the
// outbox (outbox.go) and return once queued; larger ones wait for the outbox
// to drain and are then sent from the caller's memory, pinned, returning
// once the kernel has taken all of it.
func (c *conn) write(b []byte) (int, error) {
	raceReleaseIO()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wclosed.Load() {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if !closed {
			return 0, syscall.EPIPE
		}
	}
	if len(b) <= c.r.cfg.writeBuf {
		return c.writeBehind(b)
	}
	if err := c.drain(); err != nil {
		return 0, err
	}
	total := 0
	for {
		c.mu.Lock()
		if err := c.blockedLocked(&c.wdl); err != nil {
			c.mu.Unlock()
			return total, err
		}
		if len(b) == 0 {
			c.mu.Unlock()
			return total, nil
		}
		c.sendDone = false
		c.mu.Unlock()

		chunk := b
		if len(chunk) > maxSend {
			chunk = chunk[:maxSend]
		}
		if c.r.sendDirectly() {
			// When the socket is full the ring takes over and parks us.
			n, err := c.trySend(chunk)
			total += n
			b = b[n:]
			if err != nil {
				return total, err
			}
			if n == len(chunk) {
				continue
			}
			chunk = chunk[n:]
		}
		n, err := c.sendPinned(chunk)
		total += n
		b = b[n:]
		if err != nil {
			return total, err
		}
	}
}

// sendPinned sends chunk through the ring. The chunk's memory is pinned from
// before the loop sees its address until the send's last CQE has arrived:
// waitSend returns only then, also past the deadline. c.wmu is held.
func (c *conn) sendPinned(chunk []byte) (int, error) {
	var pin runtime.Pinner
	pin.Pin(&chunk[0])
	defer pin.Unpin()
	if !c.r.submit(request{kind: reqSend, c: c, addr: uintptr(unsafe.Pointer(&chunk[0])), n: uint32(len(chunk))}) {
		return 0, net.ErrClosed
	}
	return c.waitSend()
}

// waitSend parks until the loop reports the current send finished, asking
// the loop to cancel it once the write deadline passes.
func (c *conn) waitSend() (int, error) {
	cancelAsked := false
	for {
		c.mu.Lock()
		if c.sendDone {
			n, err := int(c.sendN), c.sendRes.err()
			c.mu.Unlock()
			return n, err
		}
		switch {
		case cancelAsked:
			c.wdl.parkLocked(&c.cond) // the cancelled send's completion wakes it
		case c.wdl.expired():
			cancelAsked = true
			c.mu.Unlock()
			c.r.submit(request{kind: reqCancelSend, c: c})
			continue
		default:
			c.wdl.waitLocked(&c.r.deadlines, &c.cond)
		}
		c.mu.Unlock()
	}
}

// close marks the conn closed, wakes blocked callers and asks the loop to
// cancel in-flight ops and close the descriptor after their last CQE.
func (c *conn) close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	if c.outActive && !c.discard {
		// Queued bytes are sent before the socket closes, unless the peer
		// stops reading for closeFlushTimeout.
		c.flushTimer = time.AfterFunc(closeFlushTimeout, func() {
			c.r.submit(request{kind: reqAbortFlush, c: c})
		})
	}
	c.mu.Unlock()
	kickLone(c)
	c.closeDirectReader()
	c.rdl.stop(&c.r.deadlines)
	c.wdl.stop(&c.r.deadlines)
	c.rdl.wake(&c.cond) // closed was set under mu
	c.wdl.wake(&c.cond)
	c.r.submit(request{kind: reqCloseConn, c: c})
	return nil
}

// trySend does one non-blocking send(2). It returns how much the kernel
// took; EAGAIN is not an error (the ring takes over), others are.
func (c *conn) trySend(p []byte) (int, error) {
	if !c.fdr.acquire() {
		return 0, net.ErrClosed
	}
	defer c.releaseFD()
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(c.fd),
			uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
			syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, nil
		default:
			return 0, errno
		}
	}
}
