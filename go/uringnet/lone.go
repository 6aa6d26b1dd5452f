package uringnet

import (
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Lone reads: when a ring has a single busy conn, that conn's direct Read
// waits for data in the kernel, in ppoll(2) on its socket, instead of
// parking in Go's netpoller: in slices of settings.loneWait (1 ms), for at
// most settings.loneIdle (50 ms) in all.
//
// Why: parked in the netpoller, every message costs two thread wake-ups,
// the netpoller thread's and then the one that runs the reader; a thread
// waiting in the kernel on the socket itself is woken once and goes on
// running the reader, as a C server's loop does. 1 echo conn, 2-core VM:
// 1.41-1.54x package net's round trips at 0.72-0.80x its CPU per round
// trip (tests/bench/README.md: Lone reads).
//
// The rules, which keep it from costing a thread per conn:
//   - One lone waiter in the process at a time (loneWaiter); other Reads
//     park as usual.
//   - Only while the conn's ring sees one busy conn (readActivity), and
//     with 2 or more P's: the waiting thread keeps its P, as in any system
//     call, and at GOMAXPROCS 1 the conn's peers would wait for sysmon to
//     take it back.
//   - Never with a directReader: the socket must not be in the
//     netpoller's epoll set, where each message would wake a netpoller
//     thread too. A conn that becomes alone closes its directReader; one
//     that stops being alone makes it again. A wait that reaches
//     loneIdle, or finds another Read in the lone wait, gives lone waits
//     up (loneOff) until the conn goes back to the ring (after directIdle)
//     so that an idle or outnumbered conn does not make and close its
//     directReader over and over.
//   - Close and SetReadDeadline end a lone wait at once (kickLone): it
//     polls an eventfd beside the socket.

// loneWaiter is the conn whose Read waits in ppoll, if any.
var loneWaiter atomic.Pointer[conn]

// loneKick is an eventfd (non-blocking) the lone wait polls beside the
// socket: Close and SetReadDeadline write it to end the wait at once.
var loneKick struct {
	once sync.Once
	fd   int // -1: none could be made; waits then last a slice
}

func loneKickFD() int {
	loneKick.once.Do(func() {
		fd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
		loneKick.fd = int(fd)
		if errno != 0 {
			loneKick.fd = -1
		}
	})
	return loneKick.fd
}

// kickLone ends c's lone wait, if c is in one, after c's read deadline or
// closed changed: the waiter looks at both again. The waiter publishes
// itself before it looks at them, and callers change them before they
// call this, so one of the two sees the other. Any goroutine.
func kickLone(c *conn) {
	if loneWaiter.Load() == c {
		signalEventfd(loneKick.fd)
	}
}

// loneProcs caches GOMAXPROCS for loneAllowed; 0: not read yet.
var (
	loneProcs atomic.Int32
	loneCalls atomic.Uint32
)

// loneAllowed says whether GOMAXPROCS leaves a P for the conn's peers
// while a lone waiter holds one. It re-reads GOMAXPROCS every 256 calls
// (the read takes the scheduler's lock).
func loneAllowed() bool {
	if loneCalls.Add(1)%256 == 1 || loneProcs.Load() == 0 {
		loneProcs.Store(int32(runtime.GOMAXPROCS(0)))
	}
	return loneProcs.Load() >= 2
}

// loneOK says whether c's next direct Read may wait in the kernel: lone
// waits are on, c has not given them up (loneOff), its ring sees one busy
// conn, and there are 2 or more P's. Read side only (rmu held).
func (c *conn) loneOK() bool {
	return c.r.cfg.loneWait > 0 && !c.loneOff && c.r.activity.busy() <= 1 && loneAllowed()
}

// readLone is a direct Read on a conn with no directReader. It reports
// done false when the Read must wait in the netpoller instead: when its
// ring sees more busy conns, and for good (loneOff) when another Read
// holds the lone wait, no data came within loneIdle, or another goroutine
// ended the wait (Close, SetReadDeadline: then the conn is used from two
// goroutines at once, as net/http's background read does, and the
// netpoller hands the Read over without a thread switch). len(p) > 0;
// Read side only (rmu held).
func (c *conn) readLone(p []byte) (n int, err error, done bool) {
	if !c.fdr.acquire() {
		return 0, net.ErrClosed, true
	}
	defer c.releaseFD()
	slice := int64(c.r.cfg.loneWait)
	kick := loneKickFD()
	waited := int64(0) // ns spent in ppoll with nothing to read
	for {
		n, errno := recvDontWait(c.fd, p)
		switch errno {
		case 0:
			raceAcquireIO()
			if n == 0 {
				return 0, io.EOF, true
			}
			return n, nil, true
		case syscall.EAGAIN:
		default:
			return 0, errno, true
		}
		timeout, err := c.loneTimeout(slice)
		if err != nil {
			return 0, err, true
		}
		if c.loneOff || !loneWaiter.CompareAndSwap(nil, c) {
			c.loneOff = true
			return 0, nil, false
		}
		// Published: look again, for a Close or deadline that came
		// before kickLone could see the waiter.
		timeout, err = c.loneTimeout(slice)
		if err != nil {
			loneWaiter.Store(nil)
			return 0, err, true
		}
		ready, kicked := pollIn(c.fd, kick, timeout)
		loneWaiter.Store(nil)
		if kicked {
			c.loneOff = true // answered at the top, or by the netpoller
			continue
		}
		if !ready && timeout == slice {
			// A slice passed with nothing to read: stop when idle too
			// long or no longer alone.
			waited += timeout
			if waited >= int64(c.r.cfg.loneIdle) {
				c.loneOff = true
				return 0, nil, false
			}
			if c.r.activity.busy() > 1 {
				return 0, nil, false
			}
		}
	}
}

// loneTimeout is how long the next ppoll may wait: a slice, or less when
// the read deadline comes sooner. The error is net.ErrClosed after Close,
// errTimeout past the deadline.
func (c *conn) loneTimeout(slice int64) (int64, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	if at := c.rdl.at.Load(); at != 0 {
		left := at - sinceBase()
		if left <= 0 {
			return 0, errTimeout
		}
		return min(left, slice), nil
	}
	return slice, nil
}

// pollIn waits in ppoll(2) up to timeout ns for fd to be readable (or hung
// up, or in error: the recv that follows says which) or for kick to be
// written, which it consumes. ready says it ended before the timeout.
func pollIn(fd, kick int, timeout int64) (ready, kicked bool) {
	type pollFd struct {
		fd      int32
		events  int16
		revents int16
	}
	pfds := [2]pollFd{{int32(fd), pollInEvents, 0}, {int32(kick), pollInEvents, 0}}
	nfds := 2
	if kick < 0 {
		nfds = 1
	}
	ts := syscall.NsecToTimespec(timeout)
	n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfds[0])), uintptr(nfds),
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if nfds == 2 && pfds[1].revents != 0 {
		var b [8]byte
		syscall.Read(kick, b[:])
		kicked = true
	}
	return n != 0 || errno != 0, kicked
}

// pollInEvents is POLLIN | POLLRDHUP.
const pollInEvents = 0x1 | 0x2000
