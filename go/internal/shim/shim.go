// Package shim is the only place that imports "C": a thin Go view of the
// csrc/ shim over liburing. Nothing outside this package sees a C type.
//
// A Ring is single-issuer: NewRing, Run and Close must all be called from one
// OS thread (the caller locks its goroutine with runtime.LockOSThread). Wake
// is the exception: any goroutine may call it.
package shim

/*
#cgo CFLAGS: -O2 -Wall -D_GNU_SOURCE -I${SRCDIR}/../../../csrc
#cgo LDFLAGS: -l:liburing.a
#include <stdlib.h>
#include "uringnet.h"

static int un_ring_wake_fd(struct un_ring *r) { return r->wake_fd; }
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// Op kinds, as in csrc/uringnet.h.
const (
	OpAcceptMulti = C.UN_OP_ACCEPT_MULTI
	OpRecvMulti   = C.UN_OP_RECV_MULTI
	OpSend        = C.UN_OP_SEND
	OpCancel      = C.UN_OP_CANCEL
	OpCancelFD    = C.UN_OP_CANCEL_FD
	OpShutdown    = C.UN_OP_SHUTDOWN
	OpClose       = C.UN_OP_CLOSE
	OpPollOut     = C.UN_OP_POLL_OUT
)

// CQE flag bits.
const (
	CQEFMore     = C.IORING_CQE_F_MORE
	CQEFBuffer   = C.IORING_CQE_F_BUFFER
	CQEFBufMore  = C.UN_CQE_F_BUF_MORE // incremental pools: the kernel goes on filling the buffer
	CQEBufShift  = C.IORING_CQE_BUFFER_SHIFT
	SetupDeferTR = C.IORING_SETUP_DEFER_TASKRUN
)

// Op mirrors struct un_op. Addr may hold a Go pointer only if that memory is
// pinned (runtime.Pinner) until the op's last CQE.
type Op struct {
	UserData uint64
	Addr     uint64
	Len      uint32
	FD       int32
	Kind     uint32
	Flags    uint32
}

// CQE mirrors struct un_cqe.
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// Compile-time layout checks: the Go mirrors must match the C structs.
var (
	_ [unsafe.Sizeof(Op{}) - C.sizeof_struct_un_op]struct{}
	_ [C.sizeof_struct_un_op - unsafe.Sizeof(Op{})]struct{}
	_ [unsafe.Sizeof(CQE{}) - C.sizeof_struct_un_cqe]struct{}
	_ [C.sizeof_struct_un_cqe - unsafe.Sizeof(CQE{})]struct{}
)

// Params sizes a ring.
type Params struct {
	SQEntries  uint32
	BufCount   uint32 // the most buffers the pool grows to
	BufInitial uint32 // buffers in the pool at first
	BufSize    uint32
	Batch      uint32
	// BufIncremental asks for a pool consumed incrementally (csrc/uringnet.h);
	// Ring.BufIncremental says whether the kernel agreed.
	BufIncremental bool
}

// Stats mirrors struct un_stats.
type Stats struct {
	Enters, SQEs, CQEs, Wakeups, ENOBUFS, Overflows, BufsReturned uint64
	BufsLive                                                      uint64 // buffers in the pool so far
}

// Ring is a C-owned ring. Ops, Bids and CQEs are views of C memory owned by
// the ring: fill Ops/Bids, call Run, read CQEs. They are valid until Close.
type Ring struct {
	p       *C.struct_un_ring
	Ops     []Op
	Bids    []uint16
	CQEs    []CQE
	bufs    unsafe.Pointer // C memory: BufCount*BufSize bytes
	bufSize int
	WakeFD  int
	Flags   uint32 // IORING_SETUP_* flags in effect
	// BufIncremental: recvs take only what they need from the pool's head
	// buffer, so one buffer holds the bytes of several CQEs, back to back.
	BufIncremental bool
}

// NewRing creates a ring on the calling thread.
func NewRing(p Params) (*Ring, error) {
	cp := C.struct_un_params{
		sq_entries:  C.uint(p.SQEntries),
		buf_count:   C.uint(p.BufCount),
		buf_initial: C.uint(p.BufInitial),
		buf_size:    C.uint(p.BufSize),
		batch:       C.uint(p.Batch),
	}
	if p.BufIncremental {
		cp.buf_incremental = 1
	}
	var cr *C.struct_un_ring
	// &cp and &cr are Go pointers used only for the duration of the call.
	if ret := C.un_ring_init(&cr, &cp); ret < 0 {
		return nil, syscall.Errno(-ret)
	}
	r := &Ring{
		p:       cr,
		Ops:     unsafe.Slice((*Op)(unsafe.Pointer(cr.ops)), int(p.Batch)),
		Bids:    unsafe.Slice((*uint16)(unsafe.Pointer(cr.bids)), int(p.BufCount)),
		CQEs:    unsafe.Slice((*CQE)(unsafe.Pointer(cr.cqes)), int(p.Batch)),
		bufs:    unsafe.Pointer(cr.bufs),
		bufSize: int(p.BufSize),
		WakeFD:  int(C.un_ring_wake_fd(cr)),
		Flags:   uint32(cr.setup_flags),

		BufIncremental: cr.buf_inc != 0,
	}
	return r, nil
}

// Run prepares Ops[:nops], returns Bids[:nbids] to the buffer ring, submits,
// waits for a completion if waitNr > 0, and fills CQEs. It returns how many
// CQEs are valid.
//
// waitNr > 1 asks to batch: wait up to batchUsec for waitNr CQEs, then for one.
func (r *Ring) Run(nops, nbids, waitNr int, batchUsec int) (int, error) {
	n := C.un_ring_run(r.p, C.uint(nops), C.uint(nbids), C.uint(waitNr), C.uint(batchUsec))
	if n < 0 {
		return 0, syscall.Errno(-n)
	}
	return int(n), nil
}

// OpsLeft is how many ops the last Run could not prepare because the SQ
// stayed full; Run moved them to the front of Ops, to be passed again.
func (r *Ring) OpsLeft() int { return int(r.p.ops_left) }

// Buffer returns n bytes of recv buffer bid from off. The memory is C
// memory; the slice is valid until the buffer is given back through Bids.
func (r *Ring) Buffer(bid uint16, off, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(r.bufs, int(bid)*r.bufSize+off)), n)
}

// Stats returns the ring's counters. Issuer thread only.
func (r *Ring) Stats() Stats {
	s := r.p.stats
	return Stats{
		Enters: uint64(s.enters), SQEs: uint64(s.sqes), CQEs: uint64(s.cqes),
		Wakeups: uint64(s.wakeups), ENOBUFS: uint64(s.enobufs),
		Overflows: uint64(s.overflows), BufsReturned: uint64(s.bufs_returned),
		BufsLive: uint64(s.bufs_live),
	}
}

// Close frees the ring and its memory. Call only after every op's last CQE.
func (r *Ring) Close() {
	C.un_ring_exit(r.p)
	r.p = nil
	r.Ops, r.Bids, r.CQEs = nil, nil, nil
}

// Alloc returns n bytes of C memory (nil if out of memory), for data the
// kernel reads after the Go call that queued it has returned. Free it only
// after the last CQE of every op that names it.
func Alloc(n int) unsafe.Pointer { return C.malloc(C.size_t(n)) }

// Free releases memory from Alloc.
func Free(p unsafe.Pointer) { C.free(p) }

// Probe reports whether the engine can run in this process, and why not.
func Probe() (syscall.Errno, string) {
	var why [256]C.char
	// why is a Go array used only for the duration of the call.
	if ret := C.un_probe(&why[0], C.uint(len(why))); ret < 0 {
		return syscall.Errno(-ret), C.GoString(&why[0])
	}
	return 0, ""
}

// LiveRings counts rings created and not yet closed in this process.
func LiveRings() int { return int(C.un_live_rings()) }

// Info describes what a ring on this kernel gets.
type Info struct {
	SetupFlags uint32
	Features   uint32
	BufInc     bool     // recv pools are consumed incrementally (Params.BufIncremental)
	Ops        [64]bool // indexed by IORING_OP_* number
}

// Setup flag and feature bits named by Describe's users.
const (
	SetupSingleIssuer = C.IORING_SETUP_SINGLE_ISSUER
	SetupCoopTaskrun  = C.IORING_SETUP_COOP_TASKRUN
	FeatNoDrop        = C.IORING_FEAT_NODROP
	FeatFastPoll      = C.IORING_FEAT_FAST_POLL
	FeatExtArg        = C.IORING_FEAT_EXT_ARG
)

// OpNames names the opcodes the engine uses, by IORING_OP_* number.
var OpNames = map[int]string{
	C.IORING_OP_ACCEPT: "ACCEPT", C.IORING_OP_RECV: "RECV", C.IORING_OP_SEND: "SEND",
	C.IORING_OP_ASYNC_CANCEL: "ASYNC_CANCEL", C.IORING_OP_READ: "READ",
	C.IORING_OP_SHUTDOWN: "SHUTDOWN", C.IORING_OP_CLOSE: "CLOSE", C.IORING_OP_POLL_ADD: "POLL_ADD",
	C.IORING_OP_SEND_ZC: "SEND_ZC",
}

// Describe creates a throwaway ring and reports what it got.
func Describe() (Info, error) {
	var ci C.struct_un_info
	// &ci is a Go pointer used only for the duration of the call.
	if ret := C.un_describe(&ci); ret < 0 {
		return Info{}, syscall.Errno(-ret)
	}
	info := Info{SetupFlags: uint32(ci.setup_flags), Features: uint32(ci.features), BufInc: ci.buf_inc != 0}
	for i := range info.Ops {
		info.Ops[i] = ci.ops[i] != 0
	}
	return info, nil
}
