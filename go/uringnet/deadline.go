package uringnet

import (
	"sync"
	"sync/atomic"
	"time"
)

// clockBase anchors deadlines to the monotonic clock, the one timers use:
// a deadline is stored as its offset from clockBase, so a wall-clock step
// can neither fire it early nor leave a woken waiter seeing it unexpired.
var clockBase = time.Now()

func sinceBase() int64 { return int64(time.Since(clockBase)) }

// deadline is one direction's deadline of a conn, or a listener's, and
// whether that direction's waiter is parked (wakeup.go).
//
// It is set, and waited for, under its owner's mu (the lock of the cond
// its waiter parks on); at is also read without it (expired). Only a
// parked waiter needs a wake-up at its deadline: waitLocked marks the
// waiter parked, then reads at and asks the timer for a check at that
// time; set stores at, then reads parked. net/http moves a conn's read
// deadline about five times per request while no Read is parked, and each
// of those costs no timer.
//
// Spurious wake-ups are harmless: the waiter always re-checks expired().
type deadline struct {
	at    atomic.Int64  // nanoseconds after clockBase; 0 means none
	flags atomic.Uint32 // parkedBit (wakeup.go)
	pos   int32         // index+1 in deadlines.heap while scheduled, else 0; under deadlines.mu
}

func (d *deadline) expired() bool {
	at := d.at.Load()
	return at != 0 && sinceBase() >= at
}

// set stores t as d's deadline; ds is the set of d's ring (or listener),
// cv the cond its waiter parks on. cv.L is held.
func (d *deadline) set(ds *deadlines, cv *sync.Cond, t time.Time) {
	var at int64
	if !t.IsZero() {
		// Deadlines before clockBase are long past: 1 is past too, and not 0.
		at = max(int64(t.Sub(clockBase)), 1)
	}
	d.at.Store(at)
	if !d.parked() || at == 0 {
		// No waiter: the next one reads at before it parks. A parked one
		// with its deadline cleared just waits; a check already
		// scheduled for it finds nothing due.
		return
	}
	if at <= sinceBase() {
		d.wake(cv) // already passed: the parked waiter returns now
		return
	}
	ds.schedule(d, at)
}

// stop unschedules d (its owner is closing); at stays as it was.
func (d *deadline) stop(ds *deadlines) {
	ds.mu.Lock()
	ds.remove(d)
	ds.mu.Unlock()
}

// deadlines schedules the deadline checks of one ring's parked waiters (or
// one listener's) in a min-heap by time, with one runtime timer for the
// earliest. A conn costs a heap slot while it waits with a deadline, not a
// timer of its own: this keeps an idle net/http conn small (with an
// IdleTimeout or ReadTimeout, the server gives every idle conn a read
// deadline).
//
// An entry is a time to look at a deadline, not the deadline itself: at
// may move later without the heap knowing, and the waiter may have left.
// fire re-reads each due deadline and wakes, re-schedules or drops it.
// Close removes its conn's entries; an entry that races with Close is
// dropped when it comes due.
//
// mu protects heap, timer and when, and every scheduled deadline's pos.
type deadlines struct {
	mu    sync.Mutex
	heap  deadlineHeap
	timer *time.Timer
	when  int64 // the time the timer is set for; 0 when it is not set

	// condOf returns the cond a deadline's waiter parks on; set once,
	// before the first deadline is scheduled. The heap's entries do not
	// carry it: 8 more bytes per entry were 0.3% more RSS per idle
	// net/http conn (which waits with an IdleTimeout deadline).
	condOf func(*deadline) *sync.Cond
}

// schedule makes sure d is looked at no later than at. Lock order: the
// waiter's lock (its cond's L), then ds.mu.
func (ds *deadlines) schedule(d *deadline, at int64) {
	ds.mu.Lock()
	ds.push(d, at)
	ds.mu.Unlock()
}

// push schedules d for at, or moves its entry earlier, and moves the timer
// earlier if d is now the first due. ds.mu is held.
func (ds *deadlines) push(d *deadline, at int64) {
	if d.pos == 0 {
		ds.heap = append(ds.heap, check{d, at})
		d.pos = int32(len(ds.heap))
		ds.heap.up(len(ds.heap) - 1)
	} else if i := int(d.pos) - 1; at < ds.heap[i].at {
		ds.heap[i].at = at
		ds.heap.up(i)
	} else {
		return // already due at or before at
	}
	if ds.heap[0].d == d && (ds.when == 0 || at < ds.when) {
		ds.startTimer(at)
	}
}

func (ds *deadlines) startTimer(at int64) {
	ds.when = at
	dur := time.Duration(at - sinceBase())
	if ds.timer == nil {
		ds.timer = time.AfterFunc(dur, ds.fire)
	} else {
		ds.timer.Reset(dur)
	}
}

// fire runs on the timer's goroutine. For every entry due it wakes the
// waiter whose deadline has passed, re-schedules one whose deadline moved
// later while it waits, and drops the rest (the waiter left, or its
// deadline was cleared). Then it sets the timer for the next entry. The
// wake-ups take the waiters' locks, so they come after ds.mu is released.
func (ds *deadlines) fire() {
	var due []check
	ds.mu.Lock()
	ds.when = 0
	now := sinceBase()
	for len(ds.heap) > 0 && ds.heap[0].at <= now {
		e := ds.heap[0]
		ds.remove(e.d)
		switch at := e.d.at.Load(); {
		case !e.d.parked() || at == 0:
		case at <= now:
			due = append(due, e)
		default:
			ds.push(e.d, at)
		}
	}
	if len(ds.heap) > 0 && ds.when == 0 {
		ds.startTimer(ds.heap[0].at)
	}
	ds.mu.Unlock()
	for _, e := range due {
		e.d.wakeExpired(ds.condOf(e.d))
	}
}

// remove takes d's entry out of the heap if it has one. ds.mu is held. The
// timer is left as it is: if it was set for d, it fires early and re-arms.
func (ds *deadlines) remove(d *deadline) {
	if d.pos == 0 {
		return
	}
	h := ds.heap
	i, last := int(d.pos)-1, len(h)-1
	d.pos = 0
	if i != last {
		h[i] = h[last]
		h[i].d.pos = int32(i + 1)
	}
	h[last] = check{}
	ds.heap = h[:last]
	if i != last {
		ds.heap.down(i)
		ds.heap.up(i)
	}
	if last == 0 && cap(h) > 1024 {
		ds.heap = nil // a burst of conns is gone: let its slots go too
	}
}

// check is a heap entry: look at d at (or after) at.
type check struct {
	d  *deadline
	at int64
}

// deadlineHeap is a binary min-heap of checks by time. Each scheduled
// deadline's pos is its entry's index+1.
type deadlineHeap []check

func (h deadlineHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].d.pos, h[j].d.pos = int32(i+1), int32(j+1)
}

func (h deadlineHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h deadlineHeap) down(i int) {
	for {
		m := i
		if l := 2*i + 1; l < len(h) && h[l].at < h[m].at {
			m = l
		}
		if r := 2*i + 2; r < len(h) && h[r].at < h[m].at {
			m = r
		}
		if m == i {
			return
		}
		h.swap(i, m)
		i = m
	}
}
