package uringnet

import (
	"sync"
	"testing"
	"time"
)

// tryWait takes a token if one is available, without parking.
func (d *deadline) tryWait() bool {
	if d.flags.Load()&tokenBit == 0 {
		return false
	}
	d.park() // the token is there, or is being made available
	return true
}

// Wakes before the waiter parks coalesce into one token, as sends to a
// 1-buffered channel do, and never unlock the semaphore twice.
func TestWakeupCoalesces(t *testing.T) {
	var w deadline
	w.initWaiter()
	if w.tryWait() {
		t.Fatal("a fresh wakeup has a token")
	}
	w.wakeWaiter()
	w.wakeWaiter()
	w.wakeWaiter()
	if !w.tryWait() {
		t.Fatal("no token after wake")
	}
	if w.tryWait() {
		t.Fatal("three wakes made more than one token")
	}
}

// Every wake that follows a state change is seen: a waiter that re-checks
// the state after each wait never sleeps through the last change. Run many
// rounds with the waker and the waiter racing.
func TestWakeupNoLostWake(t *testing.T) {
	var w deadline
	w.initWaiter()
	var mu sync.Mutex
	produced := 0
	const rounds = 200000
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := 0
		for seen < rounds {
			w.park()
			mu.Lock()
			seen = produced
			mu.Unlock()
		}
	}()
	for i := 0; i < rounds; i++ {
		mu.Lock()
		produced++
		mu.Unlock()
		w.wakeWaiter()
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the waiter slept through a wake")
	}
}
