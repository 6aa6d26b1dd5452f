package uringnet

import (
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/uringnet/uringnet/go/internal/shim"
)

// A ring is one io_uring and the event-loop goroutine that owns it.
//
// Threads: the loop goroutine is locked to its OS thread, created the ring on
// it, and is the ring's only issuer (SINGLE_ISSUER + DEFER_TASKRUN when the
// kernel has them). No other goroutine touches sr. Other goroutines hand work
// over with submit/returnBufs (under qmu) and wake the loop through the
// ring's eventfd only when it sleeps in the kernel.
//
// Lifetime: the listener that created the ring, every conn accepted from it
// and every dialed conn riding it (share.go) count in live; a listener's
// extra rings are also held by it (holds). When the last one is torn down
// (after its last CQE) and nothing holds the ring, the loop frees it and
// exits.
type ring struct {
	id     uint64 // for Stats; set once at start
	cfg    settings
	wakeFD int // eventfd; written by any goroutine to wake the loop

	qmu         sync.Mutex // protects reqs, bids and dead
	reqs        []request  // work handed over by other goroutines
	bids        []uint16   // recv buffers (pieces, in an incremental pool) Read has finished, to give back
	dead        bool       // the loop has exited; submit refuses
	sleeping    atomic.Bool
	starving    atomic.Bool  // some conn waits for buffers: returning them wakes the loop
	recentBatch atomic.Int32 // size of the loop's last CQE batch: sizes its next wait; a load gauge for Write
	activity    readActivity // how busy the ring's conns are: Reads pick their mode by it (direct.go)
	lastPass    atomic.Int64 // when the loop last finished a pass (sinceBase): shouldYield

	// Owned by the loop goroutine.
	sr      *shim.Ring
	slots   []endpoint // user_data slot -> endpoint; slot 0 unused
	free    []uint32
	live    int       // registered endpoints
	holds   int       // owners keeping an idle ring alive (a listener's extra rings)
	pending []shim.Op // ops prepared by the loop, not yet copied into sr.Ops
	ownBids []uint16  // buffers the loop itself gives back (torn-down conns)
	pieces  []uint16  // r.bids as taken in this pass (r.bids gets the other slice)
	// An incremental pool (sr.BufIncremental) only, indexed by buffer id:
	// where the next recv's bytes start in the buffer (0 once the kernel
	// has finished it, CQE without BUF_MORE), and how many of its pieces
	// conns hold. A buffer goes back to the pool when both are 0.
	bufNext  []uint16
	bufHeld  []uint32
	starved  []*conn // conns whose multishot recv ended with -ENOBUFS
	bufsLive uint64  // pool size at the last poolGrew
	woken    int     // waiters woken in this pass (readyWaiter)
	sleeps   uint32  // yield decisions so far: procs is re-read every 256
	procs    int     // GOMAXPROCS as last read (shouldYield)

	statsMu   sync.Mutex // protects stats and endpoints
	stats     shim.Stats // copied from sr after each run
	endpoints int        // copied from live after each run
	extra     ringCounters

	chunks    chunkPool // C memory for conns' outboxes (outbox.go)
	deadlines deadlines // the conns' armed deadlines (deadline.go); any goroutine
}

type ringCounters struct {
	wakes atomic.Uint64 // eventfd writes by other goroutines
	stray atomic.Uint64 // CQEs for no live endpoint (must stay 0)
}

// endpoint is what the slot table holds: a conn or a listener.
type endpoint interface {
	complete(r *ring, k opKind, res int32, flags uint32)
	state() *loopState
}

// loopState is what the loop keeps for every endpoint. Loop-owned.
type loopState struct {
	slot     uint32 // index in slots; the high bits of its ops' user_data
	inflight int32  // ops whose last CQE has not arrived
	closing  bool   // Close was applied; teardown when inflight == 0
}

func (s *loopState) state() *loopState { return s }

// cancelOp asks the kernel to cancel e's op of kind k. The cancel's own
// CQE (kind opCancel) settles the accounting; the op ends with -ECANCELED
// or its normal result.
func (r *ring) cancelOp(e *loopState, k opKind) {
	e.inflight++
	r.addOp(shim.Op{UserData: userData(e.slot, opCancel), Addr: userData(e.slot, k), Kind: shim.OpCancel})
}

// beginClose marks e closing and cancels its in-flight ops: close(2) alone
// would not stop them. It reports whether e can be torn down now; otherwise
// its completion handler tears it down at the last CQE.
func (r *ring) beginClose(e *loopState, fd int) bool {
	if e.closing {
		return false
	}
	e.closing = true
	if e.inflight == 0 {
		return true
	}
	e.inflight++
	r.addOp(shim.Op{UserData: userData(e.slot, opCancel), FD: int32(fd), Kind: shim.OpCancelFD})
	return false
}

// opKind is the low byte of user_data; the slot is the rest.
type opKind uint8

const (
	opAccept opKind = iota + 1
	opRecv
	opSend
	opCancel // cancel requests; their CQEs only settle accounting
)

func userData(slot uint32, k opKind) uint64 { return uint64(slot)<<8 | uint64(k) }

type reqKind uint8

const (
	reqAddListener reqKind = iota + 1 // register, arm the multishot accept
	reqAddConn                        // register, arm the multishot recv
	reqHold                           // keep the ring alive while idle
	reqRelease                        // undo reqHold
	reqArmAccept
	reqCloseListener
	reqArmRecv
	reqSend
	reqCancelSend
	reqCloseConn
	reqFlush      // send the conn's outbox
	reqAbortFlush // stop sending a closed conn's outbox and close it
	reqStopRecv   // end the conn's recv: its Read switched to direct mode
	reqPollOut    // wait for room in the conn's socket (RawConn.Write)
)

// A request is work another goroutine hands to the loop.
type request struct {
	kind reqKind
	c    *conn
	l    *listener
	addr uintptr // reqSend: start of pinned Go memory
	n    uint32  // reqSend: length
}

// newRing starts a ring and applies first on it before anything else, so
// the ring has something to live for (a listener, a conn, or a hold). It
// returns once the ring exists (or failed to be created).
func newRing(cfg settings, first request) (*ring, error) {
	r := &ring{cfg: cfg, slots: make([]endpoint, 1, 64)}
	r.deadlines.condOf = connCond
	ready := make(chan error, 1)
	go r.loop(first, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return r, nil
}

// runningLoops is len(liveRings.m), kept by trackRing so that shouldYield
// can rule a single-wake yield out without taking liveRings' lock.
var runningLoops atomic.Int32

// liveRings lists running rings, for AllStats.
var liveRings struct {
	sync.Mutex
	next uint64             // last id given out
	m    map[*ring]struct{} // running rings
}

func trackRing(r *ring, alive bool) {
	liveRings.Lock()
	defer liveRings.Unlock()
	if liveRings.m == nil {
		liveRings.m = map[*ring]struct{}{}
	}
	if alive {
		liveRings.next++
		liveRings.m[r] = struct{}{}
		r.id = liveRings.next
		runningLoops.Add(1)
	} else {
		delete(liveRings.m, r)
		runningLoops.Add(-1)
	}
}

// AllStats returns a snapshot of every running ring's counters, oldest first.
func AllStats() []Stats {
	liveRings.Lock()
	rs := make([]*ring, 0, len(liveRings.m))
	for r := range liveRings.m {
		rs = append(rs, r)
	}
	liveRings.Unlock()
	out := make([]Stats, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ring < out[j].Ring })
	return out
}

func (r *ring) loop(first request, ready chan<- error) {
	// Locked for good: the ring is SINGLE_ISSUER, created on this thread.
	// The loop returns still locked, so the runtime ends the thread with it
	// rather than keeping one idle thread per ring that ever ran.
	runtime.LockOSThread()
	sr, err := shim.NewRing(shim.Params{
		SQEntries:  r.cfg.ringEntries,
		BufCount:   r.cfg.bufCount,
		BufInitial: r.cfg.bufInitial,
		BufSize:    r.cfg.bufSize,
		Batch:      r.cfg.ringEntries,

		BufIncremental: r.cfg.bufInc,
	})
	if err != nil {
		ready <- err
		return
	}
	r.sr = sr
	if sr.BufIncremental {
		r.bufNext = make([]uint16, r.cfg.bufCount)
		r.bufHeld = make([]uint32, r.cfg.bufCount)
	}
	r.wakeFD = sr.WakeFD
	r.apply(&first)
	r.stats = sr.Stats() // readable from the start, not after the first pass
	trackRing(r, true)
	ready <- nil

	var reqs []request
	idle := 0
	woken := 0 // waiters the last pass woke
	for {
		// The goroutines the last pass woke run first (yieldP), so that
		// their Writes are among this pass's SQEs, submitted in the same
		// io_uring_enter that waits for the next batch.
		yielded := woken > 0 && r.shouldYield(woken)
		if yielded {
			r.yieldP()
		}
		r.qmu.Lock()
		reqs, r.reqs = r.reqs, reqs[:0]
		r.pieces, r.bids = r.bids, r.pieces[:0]
		// Requests keep the loop awake, but for the sends of the goroutines
		// it has just let run: those go out in the Run that sleeps. Sends
		// with no goroutine woken (conns that read directly) do not: their
		// own CQEs became the batch to wait for, and the next Writes sat out
		// the wait (10 echo conns on one core: 0.24x std's round trips,
		// against 1.00x). Buffers to give back are a store to the shared
		// buffer ring, done in that Run too.
		wait := len(r.pending) == 0 && idle >= r.cfg.spins &&
			(len(reqs) == 0 || yielded && onlySends(reqs))
		if wait {
			r.sleeping.Store(true)
		}
		r.qmu.Unlock()

		nb := r.freeBuffers(sr.Bids, r.pieces, r.ownBids)
		r.ownBids = r.ownBids[:0]
		if nb > 0 && len(r.starved) > 0 {
			r.rearmStarved()
		}
		for i := range reqs {
			r.apply(&reqs[i])
			reqs[i] = request{}
		}
		got := 0
		for first := true; first || len(r.pending) > 0; first = false {
			k := copy(sr.Ops, r.pending)
			r.pending = r.pending[:copy(r.pending, r.pending[k:])]
			waitNr := 0
			// Only the first pass may sleep: the loop announced sleeping
			// before it, and a wake-up consumed there is not repeated.
			if wait && first && len(r.pending) == 0 {
				// Batch under load: ask for about half of the last batch,
				// for at most batchUsec (200 µs); a pass of 3 or fewer CQEs
				// asks for one, so light traffic is never held back. Under
				// load the wait is what makes batches: 50 µs collected ~6
				// round trips per pass at 100 conns, 200 µs ~16, at 0.58-0.62x
				// std's CPU per round trip against 0.83-0.86x (C client).
				waitNr = max(1, int(r.recentBatch.Load())/2)
			}
			n, _ := sr.Run(k, nb, waitNr, r.cfg.batchUsec)
			if left := sr.OpsLeft(); left > 0 {
				// The SQ stayed full: the ops it did not take go first in
				// the next Run.
				r.pending = slices.Insert(r.pending, 0, sr.Ops[:left]...)
			}
			if n > 0 {
				r.recentBatch.Store(int32(n))
			}
			nb = 0
			got += n
			r.dispatch(n)
			if len(r.starved) > 0 && r.poolGrew() {
				r.rearmStarved() // new buffers: queued for this pass's next run
			}
		}
		if wait {
			r.sleeping.Store(false)
		}
		woken, r.woken = r.woken, 0
		r.lastPass.Store(sinceBase())
		if got == 0 && len(reqs) == 0 {
			idle++
		} else {
			idle = 0
		}
		r.statsMu.Lock()
		r.stats = sr.Stats()
		r.endpoints = r.live
		r.statsMu.Unlock()
		if r.live == 0 && r.holds == 0 && len(r.pending) == 0 && r.retire() {
			break
		}
	}
	trackRing(r, false)
	r.chunks.close()
	sr.Close() // r.sr stays set: its buffer view is read-only and no conn has queued buffers left
}

// onlySends says whether reqs are all Writes' sends. Their SQEs may go out
// in the Run that sleeps; other requests get a pass that does not sleep,
// since some need the loop to look again without a CQE to come (a release
// that lets the ring retire, a close).
func onlySends(reqs []request) bool {
	for i := range reqs {
		if reqs[i].kind != reqFlush && reqs[i].kind != reqSend {
			return false
		}
	}
	return true
}

// readyWaiter wakes d's waiter (parked on cv) from the loop and counts the
// wake-up, so that the loop yields its P before it sleeps (yieldP). Loop
// goroutine only; the waiter's condition was changed under cv.L.
func (r *ring) readyWaiter(d *deadline, cv *sync.Cond) {
	if d.wake(cv) {
		r.woken++
	}
}

// yieldP lets the goroutines the loop has just woken run before the loop
// blocks in io_uring_enter. They sit in the run queue of the loop's P, and
// a blocking cgo call keeps that P: they waited until the runtime's sysmon
// took the P back from the "long" syscall (20 µs or more), which also kept
// sysmon ticking every 20 µs, and the loop's thread then woke without a P.
// Yielding hands the P over at once (the runtime starts a thread for its
// queue, since the loop's thread is locked) and the loop blocks with an
// empty queue. Measured side by side (2 cores, medians of 3 to 5, five
// runs): net/http at 100 conns 1.11-1.43x std's requests at 0.59-0.80x its
// CPU, against 1.01-1.18x at 0.78-0.93x without; echo at 100 conns
// 0.60-0.69x std's CPU per round trip, against 0.64-0.83x.
//
// The loop yields only after a pass that woke at least cfg.yieldWoken (2)
// waiters, or one when no P may be idle (shouldYield). One woken goroutine
// goes to the P's next slot, where a thread looking for work (when a P is
// idle) takes it within microseconds, and
// the hand-off then only delays the loop: yielding for every single wake
// cost a writer of 1 MiB chunks (a wake per chunk) 15-25% of its
// throughput.
//
// It yields at the top of a pass, before it takes the requests queued for
// it, so that the Writes of the goroutines it woke go out in the
// io_uring_enter that waits for the next batch. Yielding after taking them,
// just before that enter, left those Writes to the pass after the wait:
// with the server pinned to one core they sat out the 200 µs batch wait
// (echo at 50 and 100 conns 0.52x and 0.80x std's round trips, against
// 1.13x and 1.15x now); at GOMAXPROCS 1 on 2 cores, echo at 100 conns went
// from 0.75x to 0.99x and net/http from 0.92x to 1.14x.
func (r *ring) yieldP() { runtime.Gosched() }

// shouldYield says whether the loop yields before sleeping after a pass
// that woke woken waiters: from cfg.yieldWoken on, or from one on when the
// loops that may hold a P are as many as the process's P's. Then no P may
// be idle while the loops sleep in the kernel, and a woken goroutine left
// in the loop's P waits for sysmon to take that P back: 20 µs to 10 ms. At
// GOMAXPROCS 1 (the default in a container limited to one CPU) that put
// net/http's p999 at 20 ms against package net's 6 ms, and yielding after
// one wake brought it to 4.6 ms, serving 1.15x the requests it served
// before (tests/bench/README.md: GOMAXPROCS 1).
// Loops that have slept longer than holdWindow are not counted: an idle
// listener's loop holds no P, and must not make a busy loop yield after
// every single wake (yieldP says what that costs when a P is idle). Loop
// only.
func (r *ring) shouldYield(woken int) bool {
	if r.cfg.yieldWoken <= 0 {
		return false
	}
	if woken >= r.cfg.yieldWoken {
		return true
	}
	if r.sleeps%256 == 0 {
		r.procs = runtime.GOMAXPROCS(0) // takes the scheduler's lock: not every pass
	}
	r.sleeps++
	if int(runningLoops.Load()) < r.procs {
		return false
	}
	return r.loopsMayHoldPs() >= r.procs
}

// holdWindow is how long after its last pass a sleeping loop may still hold
// its P: sysmon leaves a P in a system call alone for up to 10 ms while its
// run queue is empty and other P's are idle.
const holdWindow = 10 * time.Millisecond

// loopsMayHoldPs counts r and the other running loops that finished a pass
// within holdWindow. Any goroutine.
func (r *ring) loopsMayHoldPs() int {
	now := sinceBase()
	n := 1
	liveRings.Lock()
	for o := range liveRings.m {
		if o != r && now-o.lastPass.Load() < int64(holdWindow) {
			n++
		}
	}
	liveRings.Unlock()
	return n
}

// retire marks the ring dead if nothing was handed over since the last
// pass; from then on submit refuses. Deciding under qmu matters: a request
// accepted after the loop's last look would never be applied.
func (r *ring) retire() bool {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if len(r.reqs) > 0 || len(r.bids) > 0 {
		return false
	}
	r.dead = true
	return true
}

// poolGrew reports whether the C side added buffers to the pool (it does
// when a recv finds it empty) since the last call. Loop only.
func (r *ring) poolGrew() bool {
	live := r.sr.Stats().BufsLive
	grew := live != r.bufsLive
	r.bufsLive = live
	return grew
}

// dispatch hands the first n CQEs to their endpoints.
func (r *ring) dispatch(n int) {
	for i := 0; i < n; i++ {
		cqe := &r.sr.CQEs[i]
		slot := uint32(cqe.UserData >> 8)
		if slot == 0 || int(slot) >= len(r.slots) || r.slots[slot] == nil {
			// Cannot happen: slots are freed only after their last CQE.
			// Counted so that tests can prove it. A buffer it names goes
			// back, through takePiece: in an incremental pool the next
			// CQE naming the buffer starts where this one ended.
			r.extra.stray.Add(1)
			if cqe.Flags&shim.CQEFBuffer != 0 && cqe.Res > 0 {
				r.ownBids = append(r.ownBids, r.takePiece(uint32(cqe.Res), cqe.Flags).bid)
			}
			continue
		}
		r.slots[slot].complete(r, opKind(cqe.UserData), cqe.Res, cqe.Flags)
	}
}

// submit hands q to the loop. It reports false if the ring is gone.
func (r *ring) submit(q request) bool {
	r.qmu.Lock()
	if r.dead {
		r.qmu.Unlock()
		return false
	}
	r.reqs = append(r.reqs, q)
	wake := r.sleeping.Load() && r.sleeping.Swap(false)
	r.qmu.Unlock()
	if wake {
		r.wake()
	}
	return true
}

// sendDirectly says whether a Write should try a non-blocking send(2)
// itself: when the loop sleeps in the kernel and traffic is light, handing
// it the send would cost a wake-up and two thread switches. When the loop
// is awake, the ring batches the send with others for free.
func (r *ring) sendDirectly() bool {
	return r.cfg.directWrite && r.sleeping.Load() && r.recentBatch.Load() <= 2
}

// directLoad says whether the ring's load suits direct reads (direct.go):
// for a conn switching to them, at most directConns busy conns; for one
// staying, at most half as many again, so that a load hovering at the
// limit does not flip conns back and forth. A wider margin costs: half
// the conns reading directly and half on the ring is slower than either.
func (r *ring) directLoad(switching bool) bool {
	limit := int32(r.cfg.directConns)
	if limit == 0 {
		return false
	}
	if !switching {
		limit += limit / 2
	}
	return r.activity.busy() <= limit
}

// returnBufs gives consumed recv buffers (pieces, in an incremental pool)
// back; the loop re-adds the buffers to the buffer ring on its next pass
// (freeBuffers).
func (r *ring) returnBufs(bids []uint16) {
	r.qmu.Lock()
	if r.dead {
		r.qmu.Unlock()
		return
	}
	r.bids = append(r.bids, bids...)
	wake := r.starving.Load() && r.sleeping.Load() && r.sleeping.Swap(false)
	r.qmu.Unlock()
	if wake {
		r.wake()
	}
}

// takePiece records a recv's n bytes in the buffer its CQE's flags name,
// as the flags describe them, and returns them for the conn's queue. Loop
// only.
func (r *ring) takePiece(n uint32, flags uint32) rbuf {
	bid := uint16(flags >> shim.CQEBufShift)
	if r.bufNext == nil { // the pool is consumed a whole buffer per recv
		return rbuf{bid: bid, n: n}
	}
	b := rbuf{bid: bid, off: r.bufNext[bid], n: n}
	r.bufHeld[bid]++
	if flags&shim.CQEFBufMore != 0 {
		r.bufNext[bid] += uint16(n) // < the buffer's size: the kernel has room left
	} else {
		r.bufNext[bid] = 0
	}
	return b
}

// freeBuffers puts into dst the ids of the buffers to give back to the
// pool, from the pieces conns have finished (read, or dropped at teardown),
// and returns how many. In a whole-buffer pool every piece is a buffer; in
// an incremental one a buffer goes back once no conn holds a piece of it
// and the kernel has finished it. Loop only.
func (r *ring) freeBuffers(dst []uint16, lists ...[]uint16) int {
	n := 0
	for _, l := range lists {
		if r.bufNext == nil {
			n += copy(dst[n:], l)
			continue
		}
		for _, bid := range l {
			r.bufHeld[bid]--
			if r.bufHeld[bid] == 0 && r.bufNext[bid] == 0 {
				dst[n] = bid
				n++
			}
		}
	}
	return n
}

func (r *ring) wake() {
	r.extra.wakes.Add(1)
	signalEventfd(r.wakeFD)
}

// signalEventfd adds 1 to eventfd fd, waking whoever polls or reads it.
func signalEventfd(fd int) {
	one := [8]byte{1}
	for {
		_, err := syscall.Write(fd, one[:])
		if err != syscall.EINTR {
			return
		}
	}
}

// Loop-only helpers below.

func (r *ring) addOp(op shim.Op) { r.pending = append(r.pending, op) }

func (r *ring) register(e endpoint) uint32 {
	var slot uint32
	if n := len(r.free); n > 0 {
		slot = r.free[n-1]
		r.free = r.free[:n-1]
		r.slots[slot] = e
	} else {
		slot = uint32(len(r.slots))
		r.slots = append(r.slots, e)
	}
	r.live++
	e.state().slot = slot
	return slot
}

func (r *ring) unregister(slot uint32) {
	r.slots[slot] = nil
	r.free = append(r.free, slot)
	r.live--
}

// rearmStarved re-arms every conn whose recv found the pool empty. Re-arming
// only as many as buffers came back stalls: a re-armed conn with nothing
// to receive takes no buffer and returns none, and the rest wait forever.
func (r *ring) rearmStarved() {
	for _, c := range r.starved {
		c.starved = false
		r.armRecv(c)
	}
	r.starved = r.starved[:0]
	r.starving.Store(false)
}

// forward applies q now if target is this loop's own ring, else hands it to
// target's loop. Loop only.
func (r *ring) forward(target *ring, q request) {
	if target == r {
		r.apply(&q)
	} else {
		target.submit(q)
	}
}

func (r *ring) apply(q *request) {
	switch q.kind {
	case reqAddListener:
		q.l.r = r
		r.register(q.l)
		r.armAccept(q.l)
	case reqAddConn:
		if q.c.r != r {
			// The ring was started for this conn (newRing returns after
			// this). Otherwise c.r is already r, and writing it anyway
			// would race with the conn's users.
			q.c.r = r
		}
		r.register(q.c)
		if r.directLoad(true) {
			q.c.mu.Lock()
			q.c.direct = true // start in direct mode: armRecv sets recvOff
			q.c.mu.Unlock()
		}
		r.armRecv(q.c)
	case reqHold:
		r.holds++
	case reqRelease:
		r.holds--
	case reqArmAccept:
		r.armAccept(q.l)
	case reqCloseListener:
		r.closeListener(q.l)
	case reqArmRecv:
		r.armRecv(q.c)
	case reqSend:
		r.startSend(q.c, q.addr, q.n)
	case reqCancelSend:
		r.cancelSend(q.c)
	case reqCloseConn:
		r.closeConn(q.c)
	case reqFlush:
		r.flushOut(q.c)
	case reqAbortFlush:
		r.abortFlush(q.c)
	case reqStopRecv:
		r.stopRecvForDirect(q.c)
	case reqPollOut:
		r.startPollOut(q.c)
	}
}

// Stats is a snapshot of one ring's counters (or a sum of several).
type Stats struct {
	Ring         uint64 // which ring (0 in sums)
	Endpoints    int    // listeners and conns registered on it
	GoWakes      uint64 // times another goroutine woke the sleeping loop
	Enters       uint64 // io_uring_enter calls
	SQEs         uint64 // SQEs submitted
	CQEs         uint64 // CQEs reaped
	Wakeups      uint64 // loop wake-ups through the eventfd
	ENOBUFS      uint64 // recv completions that found the buffer pool empty
	Buffers      uint64 // recv buffers in the pool (it grows on ENOBUFS)
	Overflows    uint64 // passes that saw the CQ overflow flag
	BufsReturned uint64 // recv buffers given back to the kernel
}

func (r *ring) snapshot() Stats {
	r.statsMu.Lock()
	s, endpoints := r.stats, r.endpoints
	r.statsMu.Unlock()
	st := Stats{Ring: r.id, Endpoints: endpoints, GoWakes: r.extra.wakes.Load()}
	st.Enters, st.SQEs, st.CQEs, st.Wakeups = s.Enters, s.SQEs, s.CQEs, s.Wakeups
	st.ENOBUFS, st.Overflows, st.BufsReturned = s.ENOBUFS, s.Overflows, s.BufsReturned
	st.Buffers = s.BufsLive
	return st
}

func (s *Stats) add(o Stats) {
	s.Endpoints += o.Endpoints
	s.GoWakes += o.GoWakes
	s.Enters += o.Enters
	s.SQEs += o.SQEs
	s.CQEs += o.CQEs
	s.Wakeups += o.Wakeups
	s.ENOBUFS += o.ENOBUFS
	s.Overflows += o.Overflows
	s.BufsReturned += o.BufsReturned
	s.Buffers += o.Buffers
}
