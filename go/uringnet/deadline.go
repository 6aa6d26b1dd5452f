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

// deadline is one direction's deadline. at is read without locks by the
// waiting goroutine. set (any goroutine) stores it and re-arms the timer;
// it wakes the waiter only when the deadline has already passed, since a
// later or cleared deadline leaves a parked waiter nothing to do. The timer
// wakes the waiter when the deadline passes. Spurious wake-ups are
// harmless: the waiter always re-checks expired().
type deadline struct {
	at    atomic.Int64 // nanoseconds after clockBase; 0 means none
	wake  chan struct{}
	mu    sync.Mutex // protects timer
	timer *time.Timer
}

func (d *deadline) expired() bool {
	at := d.at.Load()
	return at != 0 && int64(time.Since(clockBase)) >= at
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.IsZero() {
		d.at.Store(0)
		if d.timer != nil {
			d.timer.Stop()
		}
		return
	}
	// Deadlines before clockBase are long past: 1 is past too, and not 0.
	d.at.Store(max(int64(t.Sub(clockBase)), 1))
	if dur := time.Until(t); dur > 0 {
		if d.timer == nil {
			d.timer = time.AfterFunc(dur, func() { notify(d.wake) })
		} else {
			d.timer.Reset(dur)
		}
		return
	}
	if d.timer != nil {
		d.timer.Stop()
	}
	notify(d.wake) // already passed: a parked waiter returns now
}

func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
}
