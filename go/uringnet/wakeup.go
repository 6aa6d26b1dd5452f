package uringnet

// A deadline also parks its direction's waiter, one at a time (a conn's
// Read under rmu, its Write under wmu, an Accept under amu). wg and
// tokenBit make a binary semaphore: a 1-buffered channel in 20 bytes
// inside the conn, where a channel is a 112-byte allocation of its own. An
// idle conn always has a Read parked, so this is a large part of its cost.
//
// The token is "wg's counter is 0". initWaiter sets it to 1 (no token).
// wakeWaiter takes it to 0 only when it is the one to set tokenBit, so it
// never goes below 0. park returns at 0, puts it back to 1 and then clears
// tokenBit. Wakes before the waiter parks coalesce into one, as sends to
// a 1-buffered channel do: callers re-check their condition after wait
// returns, under the lock that guards it, so a coalesced wake loses
// nothing. A WaitGroup parks without spinning; a sync.Mutex used as the
// semaphore cost 7% more CPU per echo round trip at 100 conns.

//
// One waiter at a time is a rule, not a preference: two waiters would both
// wake on one token, their Adds would leave the counter at 2, and no later
// wake would reach them.

// The bits of deadline.flags. parkedBit is set while a waiter is in wait:
// set (deadline.go) reads it after storing the deadline, wait sets it
// before reading the deadline.
const (
	tokenBit  = 1 << iota // a wake-up is (being) made available
	parkedBit             // a waiter is in wait (or about to park there)
)

func (d *deadline) parked() bool { return d.flags.Load()&parkedBit != 0 }

// initWaiter sets "no token". Called once, before any wait or wake.
func (d *deadline) initWaiter() { d.wg.Add(1) }

// wait parks until a token is available and takes it, or until d's
// deadline passes; ds is d's set (deadline.go). A deadline that has passed
// already returns it at once.
func (d *deadline) wait(ds *deadlines) {
	d.setFlags(parkedBit)
	defer d.clearFlags(parkedBit)
	if at := d.at.Load(); at != 0 {
		if at <= sinceBase() {
			return
		}
		ds.schedule(d, at)
	}
	d.park()
}

// park waits for a token only: the deadline does not end it.
func (d *deadline) park() {
	d.wg.Wait()
	d.wg.Add(1)
	d.clearFlags(tokenBit)
}

// wakeWaiter makes a token available unless one already is: it wakes the
// parked waiter, or the next one to park. It reports whether it made one
// available. Any goroutine.
func (d *deadline) wakeWaiter() bool {
	if d.setFlags(tokenBit)&tokenBit == 0 {
		d.wg.Done()
		return true
	}
	return false
}

// setFlags sets bits in d.flags and returns the flags before. A bit that is
// set already is left without a write.
func (d *deadline) setFlags(bits uint32) uint32 {
	for {
		old := d.flags.Load()
		if old&bits == bits || d.flags.CompareAndSwap(old, old|bits) {
			return old
		}
	}
}

// clearFlags clears bits in d.flags.
func (d *deadline) clearFlags(bits uint32) {
	for {
		old := d.flags.Load()
		if d.flags.CompareAndSwap(old, old&^bits) {
			return
		}
	}
}
