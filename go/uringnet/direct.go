package uringnet

import (
	"errors"
	"io"
	"net"
	"os"
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
// The mode is the conn's, chosen by how many conns its ring serves
// (settings.directConns): a conn starts direct when its ring has at most
// that many, a ring-mode Read switches to direct when the count falls to
// it, and a direct Read switches back when it grows past 1.5 times that. Only
// Read changes the mode, under rmu, so bytes keep their order:
//   - to direct: Read sets c.direct and asks the loop to stop the recv. It
//     reads the socket only once the loop sets c.recvOff, after the recv's
//     last CQE, so every byte the ring took is in c.rq first.
//   - to the ring: Read clears both and re-arms the recv. Its own recv(2)
//     calls have all returned, so nothing is in flight.
// Writes are not affected: they use the outbox and the ring either way.

// directReader waits for readability in the netpoller. The netpoller knows
// only *os.File and net's conns, so f is an os.File over a duplicate of
// the socket; a dup shares the socket, and closing it leaves the conn's fd
// open. Made once per conn, on its first direct Read; Close closes f.
type directReader struct {
	f    *os.File
	rc   syscall.RawConn
	p    []byte // the buffer of the Read in progress
	n    int
	err  error
	recv func(fd uintptr) bool // dr.recvOnce, bound once: Read allocates nothing
}

// newDirectReader registers a duplicate of fd with the netpoller. os.NewFile
// registers only non-blocking descriptors, but the ring's ops want the
// socket blocking (it shares the flag with the dup): the flag is set for
// the call only. recv(2) is called with MSG_DONTWAIT, so reads never block.
func newDirectReader(fd int) (*directReader, error) {
	dup, err := dupCloexec(fd)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(dup, true); err != nil {
		syscall.Close(dup)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(dup), "uringnet-direct")
	err = syscall.SetNonblock(dup, false)
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
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&dr.p[0])), uintptr(len(dr.p)), syscall.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			dr.n, dr.err = int(n), nil
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			dr.n, dr.err = 0, errno
			return true
		}
	}
}

// read does one Read on the socket. len(p) > 0. The deadline is the file's
// (setDirectDeadline keeps it equal to the conn's); Close closes the file.
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
// directReader on first use. ok is false when that failed (no descriptor
// left for the dup): the conn then stays on the ring, and the caller waits
// there.
func (c *conn) readDirect(dr *directReader, p []byte) (n int, err error, ok bool) {
	if dr == nil {
		// Under fdmu: the loop cannot close fd (and a new file cannot
		// take its number) before the dup. Once closed, fd is -1 and the
		// dup fails with EBADF.
		c.fdmu.RLock()
		dr, err = newDirectReader(c.fd)
		c.fdmu.RUnlock()
		if err != nil {
			c.leaveDirect(true) // for good: trying on every Read would flap
			return 0, nil, false
		}
		c.mu.Lock()
		closed := c.closed
		if !closed {
			c.dr = dr
			if at := c.rdl.at.Load(); at != 0 {
				dr.f.SetReadDeadline(clockBase.Add(time.Duration(at)))
			}
		}
		c.mu.Unlock()
		if closed {
			dr.f.Close()
			return 0, net.ErrClosed, true
		}
	}
	n, err = dr.read(p)
	return n, err, true
}

// leaveDirect puts the conn back on the ring's recv; forGood keeps it
// there (noDirect). Read only, under rmu.
func (c *conn) leaveDirect(forGood bool) {
	c.mu.Lock()
	c.direct, c.recvOff = false, false
	c.noDirect = c.noDirect || forGood
	c.mu.Unlock()
	c.r.submit(request{kind: reqArmRecv, c: c})
}

// setDirectDeadline gives the direct reader the conn's new read deadline.
// Under c.mu, so that it cannot cross with readDirect copying the deadline
// into a new reader.
func (c *conn) setDirectDeadline(t time.Time) {
	c.mu.Lock()
	if c.dr != nil {
		c.dr.f.SetReadDeadline(t)
	}
	c.mu.Unlock()
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
