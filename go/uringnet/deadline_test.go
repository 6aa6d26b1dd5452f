package uringnet

import (
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkHeap fails t unless ds.heap is in heap order and every entry's
// deadline knows its position.
func checkHeap(t *testing.T, ds *deadlines) {
	t.Helper()
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for i, c := range ds.heap {
		if int(c.d.pos) != i+1 {
			t.Fatalf("heap[%d].pos = %d", i, c.d.pos)
		}
		if i > 0 && ds.heap[(i-1)/2].at > c.at {
			t.Fatalf("heap[%d] is due before its parent", i)
		}
	}
}

func heapLen(ds *deadlines) int {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return len(ds.heap)
}

// waitOwner is what a conn is to its deadlines: the lock they are set
// under and the cond their waiter parks on.
type waitOwner struct {
	mu sync.Mutex
	cv sync.Cond
	d  deadline
}

func newOwner() *waitOwner {
	o := &waitOwner{}
	o.cv.L = &o.mu
	return o
}

func newOwners(n int) []*waitOwner {
	owners := make([]*waitOwner, n)
	for i := range owners {
		owners[i] = newOwner()
	}
	return owners
}

// condOfOwners is a deadlines.condOf for these owners' deadlines.
func condOfOwners(owners ...*waitOwner) func(*deadline) *sync.Cond {
	m := make(map[*deadline]*sync.Cond, len(owners))
	for _, o := range owners {
		m[&o.d] = &o.cv
	}
	return func(d *deadline) *sync.Cond { return m[d] }
}

func (o *waitOwner) set(ds *deadlines, t time.Time) {
	o.mu.Lock()
	o.d.set(ds, &o.cv, t)
	o.mu.Unlock()
}

// parkedWaiter is a goroutine that waits on o's deadline, as a blocked
// Read does, until it has expired or the waiter is told to stop.
type parkedWaiter struct {
	woke    atomic.Int32 // returns from waitLocked
	stop    atomic.Bool
	expired chan time.Time // when it saw the deadline expired
	done    chan struct{}
}

// startWaiter starts a parkedWaiter on o; the test's cleanup ends it.
func startWaiter(t *testing.T, o *waitOwner, ds *deadlines) *parkedWaiter {
	w := &parkedWaiter{expired: make(chan time.Time, 1), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		o.mu.Lock()
		defer o.mu.Unlock()
		for !w.stop.Load() {
			o.d.waitLocked(ds, &o.cv)
			w.woke.Add(1)
			if o.d.expired() {
				w.expired <- time.Now()
				return
			}
		}
	}()
	t.Cleanup(func() {
		w.stop.Store(true)
		o.d.wakeExpired(&o.cv) // takes o.mu, as a change of stop needs
		<-w.done
	})
	return w
}

func waitParked(t *testing.T, owners []*waitOwner) {
	t.Helper()
	waitFor(t, 10*time.Second, "waiters parked", func() bool {
		for _, o := range owners {
			if !o.d.parked() {
				return false
			}
		}
		return true
	})
	// A waiter sets its parked flag, then schedules its deadline, holding
	// o.mu until cv.Wait lets it go: once o.mu is ours, it has done both.
	for _, o := range owners {
		o.mu.Lock()
		o.mu.Unlock()
	}
}

// Setting a deadline with no waiter parked takes no heap slot; a waiter
// that parks schedules the check itself, and one that leaves before it is
// due is not woken by it.
func TestDeadlineScheduledOnlyWhileParked(t *testing.T) {
	var ds deadlines
	o := newOwner()
	ds.condOf = condOfOwners(o)
	o.set(&ds, time.Now().Add(300*time.Millisecond))
	if n := heapLen(&ds); n != 0 {
		t.Fatalf("a deadline without a waiter took %d heap slots", n)
	}
	w := startWaiter(t, o, &ds)
	waitParked(t, []*waitOwner{o})
	if n := heapLen(&ds); n != 1 {
		t.Fatalf("a parked waiter has %d heap slots, want 1", n)
	}
	select {
	case at := <-w.expired:
		if time.Until(at) > 0 || !o.d.expired() {
			t.Fatal("woke before the deadline")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the deadline never woke the parked waiter")
	}
	if n := heapLen(&ds); n != 0 {
		t.Fatalf("%d heap slots left after the deadline passed", n)
	}
}

// Many waiters share one timer: each deadline that stays set wakes its
// waiter once it has passed and not before, whether it was set before the
// waiter parked or while it waits, moved later or earlier; cleared and
// stopped ones do not wake at their old time; the heap is empty at the end.
func TestDeadlinesShareOneTimer(t *testing.T) {
	var ds deadlines
	const n = 300
	rng := rand.New(rand.NewSource(1))
	dls := newOwners(n)
	ds.condOf = condOfOwners(dls...)
	ws := make([]*parkedWaiter, n)
	want := make([]time.Time, n) // zero: must not fire
	// The times are a second out, so that none passes before its waiter
	// has parked.
	start := time.Now().Add(time.Second)
	for i := range dls {
		want[i] = start.Add(time.Duration(rng.Intn(400)) * time.Millisecond)
		if i%2 == 0 { // set before the waiter parks
			dls[i].set(&ds, want[i])
		}
		ws[i] = startWaiter(t, dls[i], &ds)
	}
	waitParked(t, dls)
	for i := 1; i < n; i += 2 { // set while it waits
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
			dls[i].d.stop(&ds)
		}
		if i%37 == 0 {
			checkHeap(t, &ds)
		}
	}
	checkHeap(t, &ds)

	limit := time.After(10 * time.Second)
	for i := range dls {
		if want[i].IsZero() {
			continue
		}
		select {
		case at := <-ws[i].expired:
			if at.Before(want[i]) {
				t.Fatalf("deadline %d woke %v early", i, want[i].Sub(at))
			}
		case <-limit:
			t.Fatalf("deadline %d (due %v after start) never woke its waiter", i, want[i].Sub(start))
		}
	}
	time.Sleep(100 * time.Millisecond) // past every old time (at most start+400ms)
	for i := range dls {
		if !want[i].IsZero() {
			continue
		}
		if k := ws[i].woke.Load(); k != 0 {
			t.Fatalf("deadline %d was cleared or stopped but woke its waiter %d times", i, k)
		}
		if i%5 == 3 && dls[i].d.expired() {
			t.Fatalf("cleared deadline %d reports expired", i)
		}
	}
	if left := heapLen(&ds); left != 0 {
		t.Fatalf("%d checks still scheduled after all passed", left)
	}
}

// A deadline set in the past wakes a parked waiter at once; a wait with a
// deadline that has passed returns at once.
func TestDeadlinePastWakesNow(t *testing.T) {
	var ds deadlines
	o := newOwner()
	ds.condOf = condOfOwners(o)
	w := startWaiter(t, o, &ds)
	waitParked(t, []*waitOwner{o})
	o.set(&ds, time.Now().Add(time.Hour))
	if n := heapLen(&ds); n != 1 {
		t.Fatalf("a deadline set while the waiter waits has %d heap slots, want 1", n)
	}
	o.set(&ds, time.Now().Add(-time.Second))
	select {
	case <-w.expired:
	case <-time.After(10 * time.Second):
		t.Fatal("a deadline in the past did not wake the parked waiter")
	}
	returned := make(chan struct{})
	go func() {
		o.mu.Lock()
		o.d.waitLocked(&ds, &o.cv)
		o.mu.Unlock()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		o.d.wakeExpired(&o.cv)
		t.Fatal("a wait with a passed deadline parked")
	}
	o.d.stop(&ds)
	if n := heapLen(&ds); n != 0 {
		t.Fatalf("%d heap slots left after stop", n)
	}
}
