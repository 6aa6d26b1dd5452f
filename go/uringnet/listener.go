package uringnet

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/uringnet/uringnet/go/internal/shim"
)

// listener is the engine side of a listening socket. A multishot accept
// stays armed on it; each accepted fd is registered on the ring and gets its
// multishot recv at once, then waits in q for Accept.
//
// Locking: mu protects the fields after it. Loop-owned fields are touched
// only by the ring's loop goroutine.
type listener struct {
	r       *ring   // the ring that accepts; set by that ring's loop at registration
	extra   []*ring // more rings its conns are spread over, held until Close; set before r starts
	fd      int     // never changed; closed by whoever ends fdr (closeFD)
	fdr     fdRef   // references held by withFD (fdref.go); the loop shuts it at teardown
	network string  // "tcp" or "unix"
	addr    net.Addr
	path    string        // a unix listener's socket file; "" for TCP and abstract addresses
	done    chan struct{} // closed once queued conns are gone and the fd is closed

	unlinkOnClose atomic.Bool // Close removes path (SetUnlinkOnClose)
	unlinkOnce    sync.Once   // path is removed at the first Close only

	// Loop-owned: loopState (slot, inflight, closing) and the fields up to mu.
	loopState
	next        int // round-robin index into rings for the next conn
	armed       bool
	cancelAsked bool

	amu sync.Mutex // serializes Accepts, as in package net

	mu        sync.Mutex
	cond      sync.Cond // L is &mu: a blocked Accept parks on it (wakeup.go)
	q         []acceptItem
	needArm   bool // the multishot accept ended; Accept re-arms it
	closed    bool
	dl        deadline
	deadlines deadlines // dl's timer
}

// acceptItem is an accepted conn or an accept error, in arrival order.
type acceptItem struct {
	c   *conn
	err error
}

// acceptQueueCap bounds accepted-but-not-Accepted conns before the multishot
// accept is paused (the kernel backlog holds the rest, as with std net).
const acceptQueueCap = 256

// rings lists every ring serving the listener, the accepting one first.
func (l *listener) rings() []*ring { return append([]*ring{l.r}, l.extra...) }

func (r *ring) armAccept(l *listener) {
	if l.closing || l.armed {
		return
	}
	l.armed = true
	l.inflight++
	r.addOp(shim.Op{UserData: userData(l.slot, opAccept), FD: int32(l.fd), Kind: shim.OpAcceptMulti})
}

func (l *listener) complete(r *ring, k opKind, res int32, flags uint32) {
	switch k {
	case opAccept:
		l.onAccept(r, res, flags)
	case opCancel:
		l.inflight--
	}
	if l.closing && l.inflight == 0 {
		r.teardownListener(l)
	}
}

func (l *listener) onAccept(r *ring, res int32, flags uint32) {
	more := flags&shim.CQEFMore != 0
	if !more {
		l.armed = false
		l.cancelAsked = false
		l.inflight--
	}
	var item acceptItem
	switch {
	case res >= 0 && l.closing:
		syscall.Close(int(res))
		return
	case res >= 0:
		cr := r
		if k := l.next % (1 + len(l.extra)); k > 0 {
			cr = l.extra[k-1]
		}
		l.next++
		c := newConn(cr, int(res), l.network)
		// cr is alive (this listener holds it) and registers the conn
		// before any op the conn's user may queue after it.
		r.forward(cr, request{kind: reqAddConn, c: c})
		item.c = c
	case res == -int32(syscall.ECANCELED):
	case res == -int32(syscall.ECONNABORTED), res == -int32(syscall.EINTR), res == -int32(syscall.EAGAIN):
		// the peer gave up before we took it; std net retries these too
	default:
		item.err = syscall.Errno(-res)
	}
	l.mu.Lock()
	if item.c != nil || item.err != nil {
		l.q = append(l.q, item)
	}
	full := len(l.q) >= acceptQueueCap
	if !more && !l.closing {
		l.needArm = true
	}
	l.mu.Unlock()
	r.readyWaiter(&l.dl, &l.cond)
	if full && more && !l.cancelAsked && !l.closing {
		l.cancelAsked = true
		r.cancelOp(&l.loopState, opAccept)
	}
}

// accept pops the next accepted conn, parking the goroutine until one arrives.
func (l *listener) accept() (*conn, error) {
	l.amu.Lock()
	defer l.amu.Unlock()
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		if l.dl.expired() {
			l.mu.Unlock()
			return nil, errTimeout
		}
		var item acceptItem
		have := len(l.q) > 0
		if have {
			item = l.q[0]
			l.q[0] = acceptItem{}
			l.q = l.q[1:]
		}
		// Re-arm a stopped multishot accept when the queue has drained (after
		// a pause) or is empty. Not on the call that returns an error: as
		// with package net, the caller's next Accept makes the next attempt.
		rearm := l.needArm && item.err == nil && (!have || len(l.q) < acceptQueueCap/2)
		if rearm {
			l.needArm = false
		}
		if have || rearm {
			l.mu.Unlock()
			if rearm {
				l.r.submit(request{kind: reqArmAccept, l: l})
			}
			if have {
				return item.c, item.err
			}
			continue // look again before waiting
		}
		l.dl.waitLocked(&l.deadlines, &l.cond)
		l.mu.Unlock()
	}
}

// withFD runs fn with the listening descriptor, or returns net.ErrClosed.
// fn holds a reference, not mu: the loop goes on accepting meanwhile, and
// fn may call the listener's methods. Close waits for fn to return.
func (l *listener) withFD(fn func(fd int) error) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed || !l.fdr.acquire() {
		return net.ErrClosed
	}
	defer l.releaseFD() // also when fn, user code, panics
	return fn(l.fd)
}

// releaseFD drops withFD's reference, closing the descriptor when it was
// the last after teardown.
func (l *listener) releaseFD() {
	if l.fdr.release() {
		l.closeFD()
	}
}

// closeFD closes the listening descriptor and ends close's wait. The call
// that ended l.fdr makes it: teardownListener, or the last withFD after it.
func (l *listener) closeFD() {
	syscall.Close(l.fd)
	close(l.done)
}

func (l *listener) close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	l.dl.stop(&l.deadlines)
	l.dl.wake(&l.cond) // closed was set under mu
	if l.r.submit(request{kind: reqCloseListener, l: l}) {
		<-l.done
	}
	return nil
}

func (r *ring) closeListener(l *listener) {
	if r.beginClose(&l.loopState, l.fd) {
		r.teardownListener(l)
	}
}

func (r *ring) teardownListener(l *listener) {
	r.unregister(l.slot)
	l.slot = 0
	l.mu.Lock()
	q := l.q
	l.q = nil
	l.mu.Unlock()
	for _, it := range q {
		if it.c != nil {
			it.c.mu.Lock()
			it.c.closed = true
			it.c.mu.Unlock()
			r.forward(it.c.r, request{kind: reqCloseConn, c: it.c})
		}
	}
	for _, other := range l.extra {
		other.submit(request{kind: reqRelease})
	}
	if l.fdr.shut() {
		l.closeFD()
	}
}
