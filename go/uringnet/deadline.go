package uringnet

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// clockBase anchors deadlines to the monotonic clock, the one timers use:
// a deadline is stored as its offset from clockBase, so a wall-clock step
// can neither fire it early nor leave a woken waiter seeing it unexpired.
var clockBase = time.Now()

func sinceBase() int64 { return int64(time.Since(clockBase)) }

// deadline is one direction's deadline of a conn, or a listener's. at is
// read without locks by the waiting goroutine; set stores it under the
// deadlines' lock. set wakes the waiter only when the deadline has already
// passed, since a later or cleared deadline leaves a parked waiter nothing
// to do; the deadlines' timer wakes it when a future one passes. Spurious
// wake-ups are harmless: the waiter always re-checks expired().
type deadline struct {
	at  atomic.Int64   // nanoseconds after clockBase; 0 means none
	wg  sync.WaitGroup // with sig, the parked waiter's semaphore (wakeup.go)
	sig atomic.Bool    // a wake-up is (being) made available
	pos int32          // index+1 in deadlines.heap while armed, else 0; under deadlines.mu
}

func (d *deadline) expired() bool {
	at := d.at.Load()
	return at != 0 && sinceBase() >= at
}

// set stores t as d's deadline in ds, the set of d's ring (or listener).
func (d *deadline) set(ds *deadlines, t time.Time) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if t.IsZero() {
		d.at.Store(0)
		ds.remove(d)
		return
	}
	// Deadlines before clockBase are long past: 1 is past too, and not 0.
	at := max(int64(t.Sub(clockBase)), 1)
	d.at.Store(at)
	if at > sinceBase() {
		ds.arm(d)
		return
	}
	ds.remove(d)
	d.wakeWaiter() // already passed: a parked waiter returns now
}

// stop disarms d (its owner is closing); at stays as it was.
func (d *deadline) stop(ds *deadlines) {
	ds.mu.Lock()
	ds.remove(d)
	ds.mu.Unlock()
}

// deadlines holds the armed future deadlines of one ring's conns (or of
// one listener) in a min-heap by time, with one runtime timer for the
// earliest. A conn costs a heap slot, not a timer of its own: this keeps an
// idle net/http conn small (with an IdleTimeout or ReadTimeout, the server
// gives every idle conn a read deadline). A SetDeadline that races with
// Close may leave its deadline armed; it is dropped when it passes.
//
// mu protects heap, timer and when, and every armed deadline's pos. The
// timer may fire early (its deadline was moved or cleared): fire then finds
// nothing due and re-arms for the new earliest.
type deadlines struct {
	mu    sync.Mutex
	heap  deadlineHeap
	timer *time.Timer
	when  int64 // the at the timer is set for; 0 when it is not set
}

// arm puts d (whose at changed) in its place in the heap and moves the
// timer earlier if d is now the first to pass. ds.mu is held.
func (ds *deadlines) arm(d *deadline) {
	if d.pos == 0 {
		heap.Push(&ds.heap, d)
	} else {
		heap.Fix(&ds.heap, int(d.pos)-1)
	}
	at := d.at.Load()
	if ds.heap[0] == d && (ds.when == 0 || at < ds.when) {
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

// fire runs on the timer's goroutine: it wakes the waiters of every
// deadline that has passed and sets the timer for the next.
func (ds *deadlines) fire() {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.when = 0
	now := sinceBase()
	for len(ds.heap) > 0 && ds.heap[0].at.Load() <= now {
		d := ds.heap[0]
		ds.remove(d)
		d.wakeWaiter()
	}
	if len(ds.heap) > 0 {
		ds.startTimer(ds.heap[0].at.Load())
	}
}

// remove takes d out of the heap if it is there. ds.mu is held. The timer
// is left as it is: if it was set for d, it fires early and re-arms.
func (ds *deadlines) remove(d *deadline) {
	if d.pos == 0 {
		return
	}
	heap.Remove(&ds.heap, int(d.pos)-1)
	if len(ds.heap) == 0 && cap(ds.heap) > 1024 {
		ds.heap = nil // a burst of conns is gone: let its slots go too
	}
}

// deadlineHeap orders armed deadlines by at for container/heap, keeping
// each one's pos (index+1) current.
type deadlineHeap []*deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Load() < h[j].at.Load() }

func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = int32(i+1), int32(j+1)
}

func (h *deadlineHeap) Push(x any) {
	d := x.(*deadline)
	*h = append(*h, d)
	d.pos = int32(len(*h))
}

func (h *deadlineHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	d.pos = 0
	return d
}
