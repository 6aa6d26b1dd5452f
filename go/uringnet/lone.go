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
//   - Only while they pay (loneTrial): what the lone conn's Reads cost the
//     process is measured with lone waits and in the netpoller in turn,
//     and the cheaper way is kept for a while. They lose where the peer is
//     a goroutine of this process: the netpoller then runs both ends on
//     one thread, where a lone wait makes every message wake the other
//     thread (1 echo conn, in-process client: 0.31x package net's round
//     trips with lone waits).

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
// conn, there are 2 or more P's, and lone waits pay (loneTrial). Read side
// only (rmu held).
func (c *conn) loneOK() bool {
	return c.r.cfg.loneWait > 0 && !c.loneOff && c.r.activity.busy() <= 1 && loneAllowed() &&
		loneTrial.lonePays(c, processCPUTime)
}

// loneTrial measures what the lone conn's Reads cost the process, with
// lone waits and in the netpoller in turn (trialRounds windows of
// trialReads Reads each, so that the machine's slower and faster spells
// fall on both), and keeps the cheaper way for holdReads Reads before it
// measures again. A window's cost is the process's CPU time from its first
// Read to the first of the next, so it takes in all the work of the round
// trips between.
//
// Where the peer is a goroutine of this process, the netpoller runs both
// ends on one thread, and lone waits make every message wake another:
// 1 echo conn with an in-process client served 0.31x package net's round
// trips with them. A measurement there put the netpoller's windows at
// 0.25-0.55x the lone ones' cost (six runs). Where lone waits help (1 echo
// conn, C client in another process: 1.4-1.5x package net's round trips
// at 0.7x its CPU per round trip over seconds) the netpoller's windows
// came out at 0.93-1.22x (one run of ten: 0.65x): a netpoller window right
// after lone ones is cheap, its cost per Read rising from 29 to 46 us over
// the next half second. So lone waits stay unless the netpoller's windows
// cost less than 3/5 of theirs, and a wrong verdict lasts one hold.
// Wall time was the first measure tried: it swung from 20 to 60 us per
// Read between windows of the same mode on the 2-core VM.
//
// One conn is measured at a time, as there is one lone waiter; another
// conn's Read starts over with it.
var loneTrial trial

const (
	trialReads  = 512
	trialRounds = 8 // windows per measurement: lone, netpoller, lone, ...
	holdReads   = 64 * trialRounds * trialReads
)

// trial is loneTrial's state; mu protects the rest.
type trial struct {
	mu      sync.Mutex
	c       uintptr // the conn measured, by address: held as a pointer, a closed conn would keep its ring's memory
	round   int     // window of the measurement under way, 0..trialRounds-1; trialRounds: keeping a verdict
	keep    bool    // the verdict kept: lone waits pay
	reads   int     // Reads in this window (or verdict) so far
	start   int64   // process CPU ns at its first Read
	lone    int64   // CPU ns the measurement's lone windows took
	netpoll int64   // and its netpoller windows
}

// lonePays counts a direct Read of c and says whether it may wait lone.
// cpu reads the process's CPU time in ns (processCPUTime; a test's fake).
func (t *trial) lonePays(c *conn, cpu func() int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id := uintptr(unsafe.Pointer(c)); t.c != id {
		t.c, t.round, t.reads, t.lone, t.netpoll = id, 0, 0, 0, 0
	}
	if t.reads == 0 {
		t.start = cpu()
	}
	t.reads++
	switch {
	case t.round < trialRounds && t.reads > trialReads:
		now := cpu()
		if t.round%2 == 0 {
			t.lone += now - t.start
		} else {
			t.netpoll += now - t.start
		}
		t.round++
		if t.round == trialRounds {
			t.keep = t.netpoll*5 >= t.lone*3
		}
		t.reads, t.start = 1, now
	case t.round == trialRounds && t.reads > holdReads:
		t.round, t.lone, t.netpoll = 0, 0, 0
		t.reads, t.start = 1, cpu()
	}
	if t.round < trialRounds {
		return t.round%2 == 0
	}
	return t.keep
}

// processCPUTime is the process's user and system CPU time in ns.
func processCPUTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
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
