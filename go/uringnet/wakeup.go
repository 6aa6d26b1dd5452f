package uringnet

import "sync"

// Parking: a blocked Read, Write or Accept waits on its owner's condition
// variable (conn.cond, listener.cond), whose lock is the owner's mu, the
// lock that guards everything a waiter waits for (queued bytes, the send's
// result, the outbox's room, closed, the accept queue).
//
// The rules:
//   - A waiter checks its condition with mu held and, if it must wait,
//     calls waitLocked (or parkLocked) without releasing mu in between.
//   - Whoever makes the condition true does so under mu and then calls
//     wake, with mu held or after releasing it: a waiter that checked
//     before is in cv's list by then, one that checks after sees the change.
//   - A deadline is the one condition that changes without mu (time
//     passes): its wake-up takes mu first (wakeExpired).
//   - One waiter per direction at a time (a conn's Reads hold rmu, its
//     Writes wmu, Accepts amu): parkedBit is one bit, so with two, the
//     one leaving would clear it while the other still waits, and wake
//     would then skip that one.
//
// A conn's Read and Write share the conn's cond: wake broadcasts, and the
// other direction's waiter, if parked, re-checks and parks again. Costs
// measured against the semaphore this replaced (a WaitGroup per direction,
// 2-core VM, perf at 10,000 echo conns of 4 KiB): parking and waking fell
// from 20% of the server's samples to 8-11%. The semaphore's waiters sit in
// the runtime's global table, a tree per bucket that each park and wake
// walked; a cond's waiters are a list of their own.

// The bits of deadline.flags. parkedBit is set while a waiter is in
// waitLocked or parkLocked: set (deadline.go) reads it after storing the
// deadline, waitLocked sets it before reading the deadline. writeSideBit
// is set once, on a conn's wdl: connCond tells the conn's two deadlines
// apart by it.
const (
	parkedBit = 1 << iota
	writeSideBit
)

func (d *deadline) parked() bool { return d.flags.Load()&parkedBit != 0 }

// setFlags and clearFlags set and clear bits in d.flags.
func (d *deadline) setFlags(bits uint32) {
	for {
		old := d.flags.Load()
		if d.flags.CompareAndSwap(old, old|bits) {
			return
		}
	}
}

func (d *deadline) clearFlags(bits uint32) {
	for {
		old := d.flags.Load()
		if d.flags.CompareAndSwap(old, old&^bits) {
			return
		}
	}
}

// waitLocked parks until cv is broadcast or d's deadline passes; ds is d's
// set (deadline.go). A deadline that has passed already returns at once.
// cv.L is held, and held again on return. Callers re-check their condition:
// a return says only that something may have changed.
func (d *deadline) waitLocked(ds *deadlines, cv *sync.Cond) {
	d.setFlags(parkedBit)
	defer d.clearFlags(parkedBit)
	if at := d.at.Load(); at != 0 {
		if at <= sinceBase() {
			return
		}
		ds.schedule(d, at)
	}
	cv.Wait()
}

// parkLocked parks until cv is broadcast; the deadline does not end it.
// cv.L is held, and held again on return.
func (d *deadline) parkLocked(cv *sync.Cond) {
	d.setFlags(parkedBit)
	cv.Wait()
	d.clearFlags(parkedBit)
}

// wake wakes d's waiter, if one is parked, after its condition was made
// true under cv.L. It reports whether one was parked. Any goroutine.
func (d *deadline) wake(cv *sync.Cond) bool {
	if !d.parked() {
		return false
	}
	cv.Broadcast()
	return true
}

// wakeExpired wakes d's waiter because its deadline passed. cv.L is not
// held: taking it orders this wake-up after a waiter's check of the
// deadline, so a waiter that saw it unexpired is parked by now.
func (d *deadline) wakeExpired(cv *sync.Cond) {
	cv.L.Lock()
	cv.L.Unlock()
	d.wake(cv)
}
