package uringnet

import (
	"testing"
	"time"
)

// Every wake that follows a state change is seen: a waiter that re-checks
// the state under the lock before each wait never sleeps through the last
// change. Many rounds, with the waker and the waiter racing.
func TestWakeupNoLostWake(t *testing.T) {
	o := newOwner()
	produced := 0
	const rounds = 200000
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.mu.Lock()
		defer o.mu.Unlock()
		for seen := 0; seen < rounds; seen = produced {
			if produced == seen {
				o.d.parkLocked(&o.cv)
			}
		}
	}()
	for i := 0; i < rounds; i++ {
		o.mu.Lock()
		produced++
		o.mu.Unlock()
		o.d.wake(&o.cv)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the waiter slept through a wake")
	}
}

// A conn's Read and Write park on one cond: waking one direction returns
// its waiter, and the other, woken too, parks again until its own wake.
// wake reports whether the direction had a waiter parked.
func TestWakeupSharedCond(t *testing.T) {
	o := newOwner() // o.d is the read direction
	var wdl deadline
	var readReady, writeReady bool
	readDone, writeDone := make(chan struct{}), make(chan struct{})
	if o.d.wake(&o.cv) {
		t.Fatal("wake reported a waiter with none parked")
	}
	waiter := func(d *deadline, ready *bool, done chan struct{}) {
		o.mu.Lock()
		for !*ready {
			d.parkLocked(&o.cv)
		}
		o.mu.Unlock()
		close(done)
	}
	go waiter(&o.d, &readReady, readDone)
	go waiter(&wdl, &writeReady, writeDone)
	waitFor(t, 10*time.Second, "both parked", func() bool { return o.d.parked() && wdl.parked() })

	o.mu.Lock()
	readReady = true
	o.mu.Unlock()
	if !o.d.wake(&o.cv) {
		t.Fatal("wake did not see the parked Read")
	}
	select {
	case <-readDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the Read was not woken")
	}
	waitFor(t, 10*time.Second, "the Write parked again", wdl.parked)
	select {
	case <-writeDone:
		t.Fatal("the Write returned without its condition")
	default:
	}
	o.mu.Lock()
	writeReady = true
	o.mu.Unlock()
	wdl.wake(&o.cv)
	select {
	case <-writeDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the Write was not woken")
	}
}

// A ring's deadline timer finds a conn's cond from either of its deadlines.
func TestConnCond(t *testing.T) {
	c := newConn(nil, -1, "tcp")
	if connCond(&c.rdl) != &c.cond || connCond(&c.wdl) != &c.cond {
		t.Fatal("connCond did not find the conn's cond")
	}
	c.wdl.setFlags(parkedBit) // other bits do not disturb it
	if connCond(&c.wdl) != &c.cond {
		t.Fatal("connCond lost the write side with the waiter parked")
	}
}
