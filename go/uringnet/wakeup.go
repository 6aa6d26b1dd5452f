package uringnet

// A deadline also parks its direction's waiter, one at a time (a conn's
// Read under rmu, its Write under wmu, an Accept under amu). wg and sig
// make a binary semaphore: a 1-buffered channel in 20 bytes inside the
// conn, where a channel is a 112-byte allocation of its own. An idle conn
// always has a Read parked, so this is a large part of its cost.
//
// The token is "wg's counter is 0". initWaiter sets it to 1 (no token).
// wakeWaiter takes it to 0 only when its CAS of sig from false to true wins,
// so it never goes below 0. wait returns at 0, puts it back to 1 and then
// clears sig. Wakes before the waiter parks coalesce into one, as sends to
// a 1-buffered channel do: callers re-check their condition after wait
// returns, under the lock that guards it, so a coalesced wake loses
// nothing. A WaitGroup parks without spinning; a sync.Mutex used as the
// semaphore cost 7% more CPU per echo round trip at 100 conns.

//
// One waiter at a time is a rule, not a preference: two waiters would both
// wake on one token, their Adds would leave the counter at 2, and no later
// wake would reach them.

// initWaiter sets "no token". Called once, before any wait or wake.
func (d *deadline) initWaiter() { d.wg.Add(1) }

// wait parks until a token is available and takes it.
func (d *deadline) wait() {
	d.wg.Wait()
	d.wg.Add(1)
	d.sig.Store(false)
}

// wakeWaiter makes a token available unless one already is: it wakes the
// parked waiter, or the next one to park. Any goroutine.
func (d *deadline) wakeWaiter() {
	if d.sig.CompareAndSwap(false, true) {
		d.wg.Done()
	}
}
