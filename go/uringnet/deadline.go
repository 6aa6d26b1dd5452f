package uringnet

import (
	"sync"
	"sync/atomic"
	"time"
)

// deadline is one direction's deadline. at is read without locks by the
// waiting goroutine; set (any goroutine) stores it, re-arms the timer and
// wakes the waiter so it re-evaluates. Spurious wake-ups are harmless: the
// waiter always re-checks expired().
type deadline struct {
	at    atomic.Int64 // UnixNano; 0 means none
	wake  chan struct{}
	mu    sync.Mutex // protects timer
	timer *time.Timer
}

func (d *deadline) expired() bool {
	at := d.at.Load()
	return at != 0 && time.Now().UnixNano() >= at
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	if t.IsZero() {
		d.at.Store(0)
		if d.timer != nil {
			d.timer.Stop()
		}
	} else {
		d.at.Store(t.UnixNano())
		if dur := time.Until(t); dur > 0 {
			if d.timer == nil {
				d.timer = time.AfterFunc(dur, func() { notify(d.wake) })
			} else {
				d.timer.Reset(dur)
			}
		} else if d.timer != nil {
			d.timer.Stop()
		}
	}
	d.mu.Unlock()
	notify(d.wake)
}

func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
}
