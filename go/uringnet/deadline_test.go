package uringnet

import (
	"math/rand"
	"testing"
	"time"
)

// checkHeap fails t unless ds.heap is in heap order and every entry knows
// its position.
func checkHeap(t *testing.T, ds *deadlines) {
	t.Helper()
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for i, d := range ds.heap {
		if int(d.pos) != i+1 {
			t.Fatalf("heap[%d].pos = %d", i, d.pos)
		}
		if i > 0 && ds.heap[(i-1)/2].at.Load() > d.at.Load() {
			t.Fatalf("heap[%d] passes before its parent", i)
		}
	}
}

// Many deadlines share one set: each one that stays armed wakes its waiter
// once it has passed and not before; moved, cleared and stopped ones do not
// wake at their old time; the set is empty at the end.
func TestDeadlinesShareOneTimer(t *testing.T) {
	var ds deadlines
	const n = 300
	rng := rand.New(rand.NewSource(1))
	dls := make([]deadline, n)
	want := make([]time.Time, n) // zero: must not fire
	start := time.Now()
	for i := range dls {
		dls[i].initWaiter()
		want[i] = start.Add(time.Duration(50+rng.Intn(400)) * time.Millisecond)
		dls[i].set(&ds, want[i])
	}
	checkHeap(t, &ds)
	for i := range dls {
		switch i % 5 {
		case 1: // moved later
			want[i] = want[i].Add(200 * time.Millisecond)
			dls[i].set(&ds, want[i])
		case 2: // moved earlier
			want[i] = want[i].Add(-40 * time.Millisecond)
			dls[i].set(&ds, want[i])
		case 3: // cleared
			want[i] = time.Time{}
			dls[i].set(&ds, want[i])
		case 4: // its owner closed
			want[i] = time.Time{}
			dls[i].stop(&ds)
		}
		if i%37 == 0 {
			checkHeap(t, &ds)
		}
	}
	checkHeap(t, &ds)

	deadline := time.Now().Add(10 * time.Second)
	for i := range dls {
		if want[i].IsZero() {
			continue
		}
		if !waitWoken(&dls[i], time.Until(deadline)) {
			t.Fatalf("deadline %d (due %v after start) never woke its waiter", i, want[i].Sub(start))
		}
		if now := time.Now(); now.Before(want[i]) {
			t.Fatalf("deadline %d woke %v early", i, want[i].Sub(now))
		}
		if !dls[i].expired() {
			t.Fatalf("deadline %d woke but is not expired", i)
		}
	}
	time.Sleep(50 * time.Millisecond) // past every old time (at most 450ms)
	for i := range dls {
		if !want[i].IsZero() {
			continue
		}
		if dls[i].tryWait() {
			t.Fatalf("deadline %d was cleared or stopped but woke its waiter", i)
		}
		if i%5 == 3 && dls[i].expired() {
			t.Fatalf("cleared deadline %d reports expired", i)
		}
	}
	ds.mu.Lock()
	left := len(ds.heap)
	ds.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d deadlines still armed after all passed", left)
	}
}

// A deadline set in the past wakes a parked waiter at once and is not
// armed; a later set in the future arms it again.
func TestDeadlinePastWakesNow(t *testing.T) {
	var ds deadlines
	var d deadline
	d.initWaiter()
	d.set(&ds, time.Now().Add(time.Hour))
	d.set(&ds, time.Now().Add(-time.Second))
	if !d.tryWait() {
		t.Fatal("a deadline in the past did not wake the waiter")
	}
	if !d.expired() || d.pos != 0 {
		t.Fatalf("expired=%v pos=%d, want expired and not armed", d.expired(), d.pos)
	}
	d.set(&ds, time.Now().Add(time.Hour))
	if d.expired() || d.pos != 1 {
		t.Fatalf("expired=%v pos=%d, want armed and not expired", d.expired(), d.pos)
	}
	d.stop(&ds)
}
