package uringnet

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Direct reads: at light load a conn's Read does recv(2) itself and waits
// for data in Go's netpoller, as package net does, instead of through the
// ring's multishot recv.
//
// Why: with few conns there is nothing to batch, and the ring costs a
// round trip two thread wake-ups (the loop's, then one for the reader)
// where package net costs one. At 1 to 16 busy echo conns that made the
// ring 0.4-0.8x of package net's round trips; direct reads are at parity.
// From about 64 conns on, the ring's batching wins (make bench).
//
// The mode is the conn's, chosen by how busy its ring is: by how many
// distinct conns its Reads came from lately (readActivity), not by how
// many conns it has, so that one busy conn among a thousand idle ones
// reads directly too. A conn starts direct, and a ring-mode Read switches
// to direct, when at most settings.directConns conns were busy; a direct
// Read switches back when more than 1.5 times that were. A direct Read
// that waits longer than settings.directIdle for data goes back to the
// ring too, giving up its descriptor and registration: an idle conn costs
// no more on the ring than it would in package net. Only Read changes the
// mode, under rmu, so bytes keep their order:
//   - to direct: Read sets c.direct and asks the loop to stop the recv. It
//     reads the socket only once the loop sets c.recvOff, after the recv's
//     last CQE, so every byte the ring took is in c.rq first.
//   - to the ring: Read clears both, closes its reader and re-arms the
//     recv. Its own recv(2) calls have all returned, so nothing is in
//     flight.
// Writes are not affected: they use the outbox and the ring either way.

// readActivity estimates how many of a ring's conns are busy: the number
// of distinct conns among the ring's last window of Reads. Every Read
// counts, in either mode, so the estimate does not move when conns change
// modes (a count of the ring's recv completions would drop to 0 once its
// conns went direct, and they would flap back). Windows are counted in
// Reads, not time: a window of 4x the limit holds every busy conn when at
// most the limit are busy, and more than 1.5x the limit when many are.
// The counters are updated without a lock; a Read racing a window's end
// may be counted in the wrong one, which only blurs the estimate.
type readActivity struct {
	reads   atomic.Uint32 // Reads so far on the ring's conns
	current atomic.Int32  // distinct conns in the current window
	last    atomic.Int32  // distinct conns in the previous window
}

// note counts a Read on c. window is the window's length in Reads. Under
// c.rmu (c.readWin is the Read side's).
func (a *readActivity) note(c *conn, window uint32) {
	n := a.reads.Add(1)
	if n%window == 0 {
		a.last.Store(a.current.Swap(0))
	}
	// +1: a new conn's readWin is 0, and its first window must count it.
	if w := uint16(n/window + 1); c.readWin != w {
		c.readWin = w
		a.current.Add(1)
	}
}

// busy is the estimate: the larger of the last window's count and the
// current one's, so that a jump in load counts before its window ends.
func (a *readActivity) busy() int32 { return max(a.current.Load(), a.last.Load()) }

// directReader waits for readability in the netpoller. The netpoller knows
// only *os.File and net's conns, so f is an os.File over a duplicate of
// the socket; a dup shares the socket, and closing it leaves the conn's fd
// open. Made once per conn, on its first direct Read; Close closes f.
type directReader struct {
	f      *os.File
	rc     syscall.RawConn
	fileAt int64  // the deadline on f, as a deadline's at; under c.mu
	p      []byte // the buffer of the Read in progress
	n      int
	err    error
	recv   func(fd uintptr) bool // dr.recvOnce, bound once: Read allocates nothing
}

// newDirectReader registers a duplicate of fd with the netpoller. os.NewFile
// registers only non-blocking descriptors, but the ring's ops want the
// socket blocking (it shares the flag with the dup): the flag is set for
// the call only, unless nonblock says the socket keeps it (rawio.go). The
// caller holds c.mu, under which the flag changes. recv(2) is called with
// MSG_DONTWAIT, so reads never block.
func newDirectReader(fd int, nonblock bool) (*directReader, error) {
	dup, err := dupCloexec(fd)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(dup, true); err != nil {
		syscall.Close(dup)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(dup), "uringnet-direct")
	if !nonblock {
		err = syscall.SetNonblock(dup, false)
	}
	var rc syscall.RawConn
	if err == nil {
		rc, err = f.SyscallConn()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	dr := &directReader{f: f, rc: rc}
	dr.recv = dr.recvOnce
	return dr, nil
}

// recvOnce is the RawConn.Read callback: one non-blocking recv(2). It
// returns false (wait for readability) on EAGAIN.
func (dr *directReader) recvOnce(fd uintptr) bool {
	n, errno := recvDontWait(int(fd), dr.p)
	switch errno {
	case 0:
		dr.n, dr.err = n, nil
		return true
	case syscall.EAGAIN:
		return false
	default:
		dr.n, dr.err = 0, errno
		return true
	}
}

// recvDontWait is one non-blocking recv(2), retried on EINTR.
func recvDontWait(fd int, p []byte) (int, syscall.Errno) {
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, uintptr(fd),
			uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), syscall.MSG_DONTWAIT, 0, 0)
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}

// read does one Read on the socket. len(p) > 0. The deadline is the file's
// (the conn's, or the idle limit: syncDirectDeadlineLocked); Close closes
// the file.
func (dr *directReader) read(p []byte) (int, error) {
	dr.p = p
	err := dr.rc.Read(dr.recv)
	raceAcquireIO()
	n, rerr := dr.n, dr.err
	dr.p, dr.n, dr.err = nil, 0, nil
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, errTimeout
	case err != nil:
		return 0, net.ErrClosed // the file was closed: only Close does that
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readDirect is Read in direct mode: c.direct and c.recvOff are set, c.rq
// is empty, and dr is c.dr as Read saw it under c.mu. It makes c's
// directReader on first use. done is false when the Read must wait on the
// ring instead: no descriptor was left for the dup (the conn then stays
// on the ring for good), or no data came within the idle limit (the conn
// went back to the ring; a later Read may come back).
func (c *conn) readDirect(dr *directReader, p []byte) (n int, err error, done bool) {
	if c.loneOK() {
		if dr != nil {
			c.closeDirectReader() // out of the netpoller's epoll set
			dr = nil
		}
		if n, err, done := c.readLone(p); done {
			return n, err, true
		}
	}
	if dr == nil {
		if dr, err = c.openDirectReader(); err == net.ErrClosed {
			return 0, err, true
		} else if err != nil {
			c.leaveDirect(true) // for good: trying on every Read would flap
			return 0, nil, false
		}
	}
	start := sinceBase()
	for {
		n, err = dr.read(p)
		if err != errTimeout || c.rdl.expired() {
			return n, err, true
		}
		// The file's deadline passed, not the conn's: the idle limit, or
		// a conn deadline since moved later (setDirectDeadlineLocked leaves
		// those for here).
		if sinceBase()-start >= int64(c.r.cfg.directIdle/2) {
			c.leaveDirect(false)
			return 0, nil, false
		}
		c.mu.Lock()
		if c.dr == dr {
			c.syncDirectDeadlineLocked(true)
		}
		c.mu.Unlock()
	}
}

// openDirectReader makes c's direct reader and sets c.dr, or fails with
// net.ErrClosed once c is closed. Read side only (rmu held). Holding a
// reference, fd cannot be closed (and a new file cannot take its number)
// before the dup.
func (c *conn) openDirectReader() (*directReader, error) {
	if !c.fdr.acquire() {
		return nil, net.ErrClosed
	}
	defer c.releaseFD()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, net.ErrClosed
	}
	dr, err := newDirectReader(c.fd, c.nonblock)
	if err != nil {
		return nil, err
	}
	c.dr = dr
	c.syncDirectDeadlineLocked(true)
	return dr, nil
}

// leaveDirect puts the conn back on the ring's recv and closes its direct
// reader; forGood keeps it there (noDirect). Read only, under rmu.
func (c *conn) leaveDirect(forGood bool) {
	c.loneOff = false
	c.mu.Lock()
	c.direct, c.recvOff = false, false
	c.noDirect = c.noDirect || forGood
	c.mu.Unlock()
	c.closeDirectReader()
	c.r.submit(request{kind: reqArmRecv, c: c})
}

// syncDirectDeadlineLocked puts on c's direct reader the earlier of the
// conn's read deadline and the idle limit from now. Unless force, it
// leaves a later deadline on the file when moving it would gain less than
// a quarter of the idle limit, so that a busy conn resets the file's
// timer a few times a second rather than on every Read. c.mu is held and
// c.dr is set. The Read side calls this and SetReadDeadline moves the
// file's deadline under c.mu, so a deadline being set cannot be lost to a
// Read's refresh.
func (c *conn) syncDirectDeadlineLocked(force bool) {
	dr := c.dr
	idle := int64(c.r.cfg.directIdle)
	want := sinceBase() + idle
	if at := c.rdl.at.Load(); at != 0 && at < want {
		want = at
	}
	if !force && want >= dr.fileAt && want-dr.fileAt < idle/4 {
		return
	}
	dr.fileAt = want
	dr.f.SetReadDeadline(clockBase.Add(time.Duration(want)))
}

// setDirectDeadlineLocked gives the direct reader, if any, the conn's new
// read deadline (SetReadDeadline stored it in c.rdl first) when it is
// earlier than the file's. A later one is left for readDirect to put on the
// file if the earlier one fires: net/http moves a conn's read deadline
// several times per request, and each move of the file's costs a runtime
// timer update. c.mu is held.
func (c *conn) setDirectDeadlineLocked() {
	if dr := c.dr; dr != nil {
		if at := c.rdl.at.Load(); at != 0 && at < dr.fileAt {
			dr.fileAt = at
			dr.f.SetReadDeadline(clockBase.Add(time.Duration(at)))
		}
	}
}

// closeDirectReader closes c's direct reader, if it has one: a Read parked
// in it returns net.ErrClosed.
func (c *conn) closeDirectReader() {
	c.mu.Lock()
	dr := c.dr
	c.dr = nil
	c.mu.Unlock()
	if dr != nil {
		dr.f.Close()
	}
}

// stopRecvForDirect runs on the loop when a Read switched to direct mode:
// it ends the multishot recv, or, with none armed, lets armRecv set recvOff.
func (r *ring) stopRecvForDirect(c *conn) {
	if c.recvArmed {
		if !c.recvCancelled && !c.closing {
			c.recvCancelled = true
			r.cancelOp(&c.loopState, opRecv)
		}
		return // onRecv calls armRecv after the last CQE
	}
	r.armRecv(c)
}
