package uringnet

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/uringnet/uringnet/go/internal/shim"
)

// conn is the engine side of one connection.
//
// Locking: rmu serializes Read calls and wmu serializes Write calls, so
// concurrent Writes never interleave their bytes. mu protects the state the
// loop shares with callers (the fields after it). Direct system calls on
// the descriptor (send(2), sockopts, shutdown) hold a reference in fdr: the
// loop shuts fdr at teardown, and the last reference closes fd (fdref.go).
// Loop-owned fields are touched only by the ring's loop goroutine.
type conn struct {
	r *ring

	// Loop-owned: loopState (slot, inflight, closing) and the fields up to rmu.
	loopState
	sendLeft        uint32
	recvArmed       bool  // a multishot recv is in flight
	recvCancelled   bool  // a cancel for it is in flight (pause)
	starved         bool  // on r.starved
	sending         bool  // a send op is in flight
	sendCancelled   bool  // deadline cancel asked: report, don't continue
	outSending      bool  // a send of the outbox head is in flight
	pollingOut      bool  // the op in flight as the send is a POLLOUT poll (RawConn.Write)
	closeAfterFlush bool  // Close came with bytes queued: close once they are sent
	sendTotal       int32 // bytes of this request sent; a request is at most maxSend
	sendAddr        uintptr

	rmu sync.Mutex
	wmu sync.Mutex

	fdr fdRef
	fd  int // never changed; closed by whoever ends fdr (closeFD)

	mu       sync.Mutex
	cond     sync.Cond // L is &mu: blocked Reads and Writes park on it (wakeup.go)
	rq       []rbuf    // received buffers, oldest first from rhead
	rqInline [1]rbuf   // rq's first backing array: a conn allocates one only if it ever holds two buffers
	rhead    int32
	roff     int32 // bytes of rq[rhead] already read
	sendN    int32
	outBytes int32    // the outbox's bytes queued, not yet taken by the kernel
	sendRes  sendCode // how the current Write's send ended (with sendDone)
	rerr     error    // after rq drains: io.EOF or the recv error
	// rdl and wdl also say whether a Read and a Write (or drain) are
	// parked on cond: the loop, Close and the deadline timer wake them.
	rdl, wdl deadline

	// The outbox (outbox.go): bytes Writes handed over, not yet sent.
	out        []outChunk    // oldest first; out[0] may be in flight
	outInline  [1]outChunk   // out's first backing array: most Writes fit one chunk
	werr       error         // a send failed after its Write returned; later Writes report it
	flushTimer *time.Timer   // bounds Close's flush of queued bytes
	dr         *directReader // direct mode's netpoller registration, from the first direct Read

	// The flags below, readWin, unix, directSends, linger and wclosed sit together, and
	// the int32s beside each other, so that they fill whole words: conn
	// stays within the 384-byte size class (TestConnSize).
	recvPaused     bool        // rq hit its cap; Read re-arms recv when it drains
	closed         bool        // Close was called
	sendDone       bool        // the current Write's send has finished
	outActive      bool        // the loop owns a non-empty outbox (a flush request or a send is pending)
	outWait        bool        // a writer waits for the outbox to shrink
	shutAfterFlush bool        // CloseWrite came with bytes queued: shut down once they are sent
	discard        bool        // SetLinger(0): Close drops queued bytes
	direct         bool        // Read uses recv(2) and the netpoller, not the ring (direct.go)
	recvOff        bool        // direct, and the ring's recv has ended: Read may recv(2)
	noDirect       bool        // no direct reader could be made (no descriptor): stay on the ring
	nonblock       bool        // the socket is O_NONBLOCK for good: a RawConn function ran (rawio.go)
	loneOff        bool        // no lone waits until the conn goes back to the ring; under rmu (lone.go)
	readWin        uint16      // the last activity window a Read counted c in; under rmu (direct.go)
	unix           bool        // set once: a unix socket, else TCP
	directSends    uint8       // Writes since the last Read that tried send(2) themselves (outbox.go: maxDirectSends)
	linger         atomic.Bool // SetLinger set a positive linger: close(2) may block
	// wclosed: CloseWrite was called. Atomic, so that Write checks it
	// without taking mu.
	wclosed atomic.Bool

	// Set before the conn is handed out (lookupAddrs, or package net's
	// for dialed conns), never changed after: read without a lock.
	laddr, raddr net.Addr
}

// lookupAddrs sets c's addresses from its socket, before c is handed out.
func (c *conn) lookupAddrs() {
	var lsa, rsa syscall.Sockaddr
	if c.fdr.acquire() {
		lsa, _ = syscall.Getsockname(c.fd)
		rsa, _ = syscall.Getpeername(c.fd)
		c.releaseFD()
	}
	c.laddr, c.raddr = sockaddrToAddr(c.network(), lsa), sockaddrToAddr(c.network(), rsa)
}

// network is the conn's network for addresses and errors.
func (c *conn) network() string {
	if c.unix {
		return "unix"
	}
	return "tcp"
}

// rbuf is what one recv put in a buffer of the pool, not yet fully read:
// n bytes from off. In a pool consumed whole (off 0) it is the buffer; in an
// incremental one, one of the pieces the buffer holds (ring.go: bufHeld).
type rbuf struct {
	bid uint16
	off uint16
	n   uint32
}

func newConn(r *ring, fd int, network string) *conn {
	c := &conn{r: r, fd: fd, unix: network == "unix"}
	c.rq = c.rqInline[:0]
	c.cond.L = &c.mu
	c.wdl.setFlags(writeSideBit)
	return c
}

// connCond is a ring's deadlines.condOf: the cond of the conn whose rdl or
// wdl d is. A ring's deadlines are all its conns'; d lies inside its conn,
// so the conn is found at d's offset back.
func connCond(d *deadline) *sync.Cond {
	off := unsafe.Offsetof(conn{}.rdl)
	if d.flags.Load()&writeSideBit != 0 {
		off = unsafe.Offsetof(conn{}.wdl)
	}
	return &(*conn)(unsafe.Add(unsafe.Pointer(d), -int(off))).cond
}

// complete runs on the loop for each CQE of this conn.
func (c *conn) complete(r *ring, k opKind, res int32, flags uint32) {
	switch k {
	case opRecv:
		c.onRecv(r, res, flags)
	case opSend:
		if res == -int32(syscall.EAGAIN) {
			// An O_NONBLOCK socket (rawio.go) had no room where the kernel
			// could not wait: nothing was sent, the send goes again.
			res = 0
		}
		switch {
		case c.outSending:
			c.onOutSend(r, res)
		case c.pollingOut:
			c.onPollOut(r, res)
		default:
			c.onSend(r, res)
		}
	case opCancel:
		c.inflight--
	}
	if c.inflight < 0 {
		r.extra.stray.Add(1) // a CQE counted twice: must never happen
	}
	if c.closing && c.inflight == 0 {
		r.teardownConn(c)
	}
}

func (r *ring) armRecv(c *conn) {
	if c.closing || c.recvArmed || c.starved {
		return
	}
	c.mu.Lock()
	stop := c.recvPaused || c.rerr != nil
	direct := !stop && c.direct
	if direct {
		c.recvOff = true // every byte the ring took is in rq: Read may recv(2)
	}
	c.mu.Unlock()
	if direct {
		r.readyWaiter(&c.rdl, &c.cond)
	}
	if stop || direct {
		return
	}
	c.recvArmed = true
	c.inflight++
	r.addOp(shim.Op{UserData: userData(c.slot, opRecv), FD: int32(c.fd), Kind: shim.OpRecvMulti})
}

func (c *conn) onRecv(r *ring, res int32, flags uint32) {
	more := flags&shim.CQEFMore != 0
	if !more {
		c.recvArmed = false
		c.recvCancelled = false
		c.inflight--
	}
	switch {
	case res > 0:
		b := r.takePiece(uint32(res), flags)
		c.mu.Lock()
		c.rq = append(c.rq, b)
		full := len(c.rq)-int(c.rhead) >= r.cfg.connBufs
		if full {
			c.recvPaused = true
		}
		c.mu.Unlock()
		if c.closeAfterFlush {
			// Data after Close: package net's closed socket would reset.
			c.closeAfterFlush = false
			r.resetOnClose(c)
			r.beginClose(&c.loopState, c.fd) // complete tears down at the last CQE
			return
		}
		r.readyWaiter(&c.rdl, &c.cond)
		if full && more && !c.recvCancelled && !c.closing {
			// Backpressure: stop taking buffers for a conn whose reader lags.
			c.recvCancelled = true
			r.cancelOp(&c.loopState, opRecv)
		}
		if !more {
			r.armRecv(c)
		}
	case res == 0:
		c.setReadErr(io.EOF)
	case res == -int32(syscall.ENOBUFS):
		if !c.closing && !c.starved {
			c.starved = true
			r.starved = append(r.starved, c)
			r.starving.Store(true)
		}
	case res == -int32(syscall.ECANCELED), res == -int32(syscall.EAGAIN):
		// Cancelled: paused or closing; Read re-arms after a pause.
		// EAGAIN: the socket is O_NONBLOCK (rawio.go) and the recv ran
		// where it could not wait; it is re-armed.
		if !c.closing && !more {
			r.armRecv(c)
		}
	default:
		c.setReadErr(syscall.Errno(-res))
	}
}

func (c *conn) setReadErr(err error) {
	c.mu.Lock()
	if c.rerr == nil {
		c.rerr = err
	}
	c.mu.Unlock()
	c.r.readyWaiter(&c.rdl, &c.cond)
}

// maxSend bounds one send SQE (its length is 32 bits).
const maxSend = 1 << 30

func (r *ring) startSend(c *conn, addr uintptr, n uint32) {
	if c.closing {
		c.sendTotal = 0 // nothing of this request was sent
		c.finishSend(sendClosed)
		return
	}
	c.sending = true
	c.sendCancelled = false
	c.sendAddr, c.sendLeft, c.sendTotal = addr, n, 0
	r.issueSend(c)
}

func (r *ring) issueSend(c *conn) {
	r.addSend(c, uint64(c.sendAddr), c.sendLeft)
}

// addSend queues a send op of n bytes from addr on c. Both the
// large-write path and the outbox use it; one is in flight per conn.
func (r *ring) addSend(c *conn, addr uint64, n uint32) {
	c.inflight++
	r.addOp(shim.Op{UserData: userData(c.slot, opSend), Addr: addr, Len: n, FD: int32(c.fd), Kind: shim.OpSend})
}

func (r *ring) cancelSend(c *conn) {
	if !c.sending || c.sendCancelled || c.closing {
		return
	}
	c.sendCancelled = true
	r.cancelOp(&c.loopState, opSend)
}

func (c *conn) onSend(r *ring, res int32) {
	c.inflight--
	if res > 0 {
		c.sendTotal += res
		c.sendAddr += uintptr(res)
		c.sendLeft -= uint32(res)
	}
	switch {
	case res >= 0 && c.sendLeft > 0 && !c.sendCancelled && !c.closing:
		r.issueSend(c) // short send: continue from the offset
	case res >= 0 && c.sendLeft == 0:
		c.finishSend(sendOK)
	case c.closing:
		c.finishSend(sendClosed)
	case c.sendCancelled:
		c.finishSend(sendCancelled)
	default:
		c.finishSend(sendCode(-res))
	}
}

// sendCode is how a send (or RawConn's POLLOUT wait) ended: 0, one of the
// codes below, or an errno. 32 bits, where an error would take 16 bytes
// of every conn.
type sendCode int32

const (
	sendOK        sendCode = 0
	sendClosed    sendCode = -1 // the conn was closed
	sendCancelled sendCode = -2 // stopped by its deadline
)

// err is the Write's error for the code.
func (sc sendCode) err() error {
	switch {
	case sc == sendOK:
		return nil
	case sc == sendClosed:
		return net.ErrClosed
	case sc == sendCancelled:
		return errTimeout
	default:
		return syscall.Errno(sc)
	}
}

func (c *conn) finishSend(res sendCode) {
	c.sending = false
	c.mu.Lock()
	c.sendDone = true
	c.sendN = c.sendTotal
	c.sendRes = res
	c.mu.Unlock()
	c.r.readyWaiter(&c.wdl, &c.cond)
}

// closeConn applies Close. Bytes Writes queued are sent first, as the
// kernel sends a closed socket's buffer for package net, unless the peer
// sent data that was never read: then package net's close(2) resets the
// conn and drops what was not sent (Linux, after RFC 2525), and so does
// this one, rather than keep sending for up to closeFlushTimeout to a peer
// that may itself be blocked writing to us. Data that comes while the
// outbox drains resets it too (onRecv), as it would a closed socket.
func (r *ring) closeConn(c *conn) {
	if c.closing {
		return
	}
	c.mu.Lock()
	unread := len(c.rq) > int(c.rhead)
	flush := c.outActive && !c.discard
	c.mu.Unlock()
	if unread || flush && unreadInKernel(c.fd) {
		r.resetOnClose(c)
		flush = false
	}
	if flush {
		c.closeAfterFlush = true // onOutSend closes when the outbox is empty
		// A direct-mode conn goes back to the ring's recv, so that data
		// coming after Close is seen.
		c.mu.Lock()
		c.direct, c.recvOff = false, false
		c.mu.Unlock()
		r.armRecv(c)
		r.flushOut(c)
		return
	}
	if r.beginClose(&c.loopState, c.fd) {
		r.teardownConn(c)
	}
}

// resetOnClose makes a closing conn drop its queued bytes and, for TCP,
// close(2) send a reset (SO_LINGER 0), as package net's close(2) does when
// data was left unread: the peer learns that what it sent was not taken
// (and that bytes were dropped) instead of seeing a clean end. A unix
// socket's close(2) tells the peer by itself when its own queue is unread.
// Loop only, before beginClose.
func (r *ring) resetOnClose(c *conn) {
	c.mu.Lock()
	c.discard = true
	c.mu.Unlock()
	if c.unix {
		return
	}
	// No lock: fd stays open until teardownConn, which runs after this
	// on the loop.
	c.linger.Store(false)
	syscall.SetsockoptLinger(c.fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1})
}

// unreadInKernel reports whether the socket's receive queue holds bytes, by
// a non-blocking peek. Not SIOCINQ: MPTCP's counts a received FIN as a
// byte, and a conn closed after reading its peer's EOF was then reset.
func unreadInKernel(fd int) bool {
	var b byte
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b)), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if errno != syscall.EINTR {
			return errno == 0 && n > 0
		}
	}
}

// releaseFD drops a reference taken with c.fdr.acquire, closing the
// descriptor when it was the last after teardown.
func (c *conn) releaseFD() {
	if c.fdr.release() {
		c.closeFD()
	}
}

// closeFD closes c's descriptor. The call that ended c.fdr makes it: the
// loop's teardown, or the last socket call holding fd after it.
func (c *conn) closeFD() {
	if c.linger.Load() {
		go syscall.Close(c.fd) // SO_LINGER may block close(2): keep it off the loop and the caller
	} else {
		syscall.Close(c.fd)
	}
}

func (r *ring) teardownConn(c *conn) {
	r.unregister(c.slot)
	c.slot = 0
	// The loop does not wait for a socket call holding the descriptor (a
	// SyscallConn Control function may run user code): that call closes
	// it when it returns.
	if c.fdr.shut() {
		c.closeFD()
	}
	c.mu.Lock()
	for _, b := range c.rq[c.rhead:] {
		r.ownBids = append(r.ownBids, b.bid)
	}
	c.rq, c.rhead, c.roff = nil, 0, 0
	c.dropOutLocked()
	c.closed = true
	c.mu.Unlock()
	c.stopFlushTimer()
	c.closeDirectReader()
	r.readyWaiter(&c.rdl, &c.cond)
	r.readyWaiter(&c.wdl, &c.cond)
}
