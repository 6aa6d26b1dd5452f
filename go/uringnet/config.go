package uringnet

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// ListenConfig holds options for a uringnet listener. The zero value is
// ready to use and picks the defaults documented on each field.
type ListenConfig struct {
	// RingEntries is the submission queue size (the completion queue is 8x).
	// Power of two, 8..32768. Default 512: room for a burst of sends and
	// re-arms from many conns in one io_uring_enter.
	RingEntries uint32

	// BufferCount is the most provided receive buffers the ring shares
	// among all its conns. Power of two, 8..32768. Default 4096. The pool
	// starts with 64 (or BufferCount, if fewer) and grows whenever recvs
	// find it empty, by a buffer for each of them and an eighth more, so its
	// memory follows the most data ever waiting to be read at once, not the
	// number of conns; Stats.Buffers reports it.
	BufferCount uint32

	// BufferSize is the size of each receive buffer in bytes, 512..1 MiB.
	// Default 8 KiB: one buffer covers a typical request. The pool reserves
	// BufferCount*BufferSize of address space (32 MiB by default); only
	// buffers that have been used are resident.
	BufferSize uint32

	// Rings is how many rings (each with its own loop thread and buffer
	// pool) the listener spreads its conns over, round robin. 1..64.
	// Default: one fewer than GOMAXPROCS, at least 1 (1 on 2 cores), with
	// GOMAXPROCS counted up to the CPUs the process may use: its CPU
	// affinity and its cgroup's CPU limit, which Go before 1.25 leaves out
	// of GOMAXPROCS. A ring's loop thread does the kernel's TCP work for all
	// its conns, so one ring serves at most about one core's worth of it,
	// and a server with its cores to itself wants about a ring per core;
	// one P is left for the conns' goroutines and the rest of the program.
	// On 2 cores shared with a load generator 2 rings gave fewer round trips
	// than 1, at more CPU each (README).
	Rings int

	// KeepAlive is the keep-alive period for accepted TCP conns, as in
	// net.ListenConfig: 0 means the default (15 s), negative disables it.
	KeepAlive time.Duration

	// Control, if not nil, is called after creating the listening socket
	// and before binding it, as net.ListenConfig's Control is (package net
	// makes the socket): for socket options such as SO_REUSEPORT. An error
	// fails Listen with it.
	Control func(network, address string, c syscall.RawConn) error

	// WriteBuffer is how many bytes a conn's Writes may leave queued for
	// the loop to send before Write blocks, as a socket's send buffer does
	// for package net: a Write of up to WriteBuffer bytes copies them into C
	// memory and returns without waiting for the send. A send that fails
	// later is reported by the next Write; Close sends what is queued first.
	// Larger Writes are sent from the caller's memory and return once sent.
	// Default 64 KiB; negative disables (every Write waits for its send).
	WriteBuffer int

	// DirectReadConns is how many busy conns a ring may serve with their
	// Reads done directly, with recv(2) and Go's netpoller as in package
	// net, instead of through the ring's multishot recv. With few busy
	// conns there is nothing to batch and the ring's extra thread wake-up
	// per read costs more than it saves. Busy means among the last Reads
	// on the ring (4 times this many), so idle conns do not count. A Read
	// switches back to the ring once more than 1.5 times this many are
	// busy, or after waiting a second for data. Each direct conn holds a
	// second descriptor (a dup registered with the netpoller). Default 32;
	// negative: every Read goes through the ring; at most 1 << 20, which
	// makes every busy conn read directly (README: Limits says when that
	// helps).
	DirectReadConns int

	// Require makes Listen fail when io_uring cannot be used, or the
	// network is not one it serves ("unixpacket"), instead of falling back
	// to a standard net listener.
	Require bool

	mptcp mptcpChoice // SetMultipathTCP (mptcp.go)
}

// settings are validated options with defaults filled in.
type settings struct {
	ringEntries uint32
	bufCount    uint32 // the most buffers the pool grows to
	bufInitial  uint32 // buffers in the pool at first
	bufSize     uint32
	bufInc      bool // ask for a pool consumed incrementally (granted on Linux 6.16+: csrc/bufring.c; ring.go: takePiece)
	rings       int
	connBufs    int           // recv buffers (pieces, in an incremental pool) one conn may hold before its recv pauses
	writeBuf    int           // bytes a conn's outbox may hold; 0: no outbox
	spins       int           // empty loop passes before the loop sleeps in the kernel
	yieldWoken  int           // the loop yields its P before sleeping after a pass that woke this many waiters; 0: never (ring.go: yieldP)
	directWrite bool          // Write tries a non-blocking send(2) before using the ring
	batchUsec   int           // longest wait for a batch of completions before taking one
	directConns int           // a ring with at most this many busy conns serves their Reads directly (direct.go); 0: never
	directIdle  time.Duration // a direct Read waiting longer goes back to the ring (direct.go)
	loneWait    time.Duration // a lone busy conn's Read waits in the kernel in slices this long (lone.go); 0: never
	loneIdle    time.Duration // and for at most this long in all
	keepAlive   time.Duration
}

// maxDirectConns bounds DirectReadConns: the activity window (direct.go)
// is 4 times it, counted in a uint32.
const maxDirectConns = 1 << 20

func isPow2(v uint32) bool { return v != 0 && v&(v-1) == 0 }

func (lc *ListenConfig) settings() (settings, error) {
	s := settings{
		ringEntries: 512,
		bufCount:    4096,
		bufSize:     8 << 10,
		keepAlive:   lc.KeepAlive,
		// Engine tuning; the environment overrides exist for benchmarks.
		bufInc:      os.Getenv("URINGNET_BUF_INC") != "0",
		spins:       envInt("URINGNET_SPINS", 0),
		yieldWoken:  envInt("URINGNET_YIELD", 2),
		directWrite: os.Getenv("URINGNET_DIRECTWRITE") != "0",
		batchUsec:   envInt("URINGNET_BATCH_USEC", 200),
		directConns: envInt("URINGNET_DIRECT_CONNS", 32),
		directIdle:  time.Duration(envInt("URINGNET_DIRECT_IDLE_MS", 1000)) * time.Millisecond,
		writeBuf:    envInt("URINGNET_WRITEBUF", 64<<10),
		loneWait:    time.Duration(envInt("URINGNET_LONE_USEC", 1000)) * time.Microsecond,
		loneIdle:    time.Duration(envInt("URINGNET_LONE_IDLE_MS", 50)) * time.Millisecond,
	}
	if lc.WriteBuffer != 0 {
		if lc.WriteBuffer > 64<<20 {
			return s, fmt.Errorf("uringnet: WriteBuffer %d: want at most 64 MiB", lc.WriteBuffer)
		}
		s.writeBuf = lc.WriteBuffer
	}
	if lc.DirectReadConns != 0 {
		if lc.DirectReadConns > maxDirectConns {
			return s, fmt.Errorf("uringnet: DirectReadConns %d: want at most %d (negative: every Read on the ring)", lc.DirectReadConns, maxDirectConns)
		}
		s.directConns = lc.DirectReadConns
	}
	s.directConns = min(max(s.directConns, 0), maxDirectConns) // the environment's too
	if s.directIdle <= 0 {
		s.directIdle = time.Second
	}
	if s.writeBuf < 0 {
		s.writeBuf = 0
	}
	if lc.RingEntries != 0 {
		if !isPow2(lc.RingEntries) || lc.RingEntries < 8 || lc.RingEntries > 32768 {
			return s, fmt.Errorf("uringnet: RingEntries %d: want a power of two in 8..32768", lc.RingEntries)
		}
		s.ringEntries = lc.RingEntries
	}
	s.rings = defaultRings(runtime.GOMAXPROCS(0), usableCPUs())
	if lc.Rings != 0 {
		if lc.Rings < 1 || lc.Rings > 64 {
			return s, fmt.Errorf("uringnet: Rings %d: want 1..64", lc.Rings)
		}
		s.rings = lc.Rings
	}
	if lc.BufferCount != 0 {
		if !isPow2(lc.BufferCount) || lc.BufferCount < 8 || lc.BufferCount > 32768 {
			return s, fmt.Errorf("uringnet: BufferCount %d: want a power of two in 8..32768", lc.BufferCount)
		}
		s.bufCount = lc.BufferCount
	}
	if lc.BufferSize != 0 {
		if lc.BufferSize < 512 || lc.BufferSize > 1<<20 {
			return s, fmt.Errorf("uringnet: BufferSize %d: want 512..1048576", lc.BufferSize)
		}
		s.bufSize = lc.BufferSize
	}
	// A piece's offset in its buffer is 16 bits (rbuf).
	s.bufInc = s.bufInc && s.bufSize <= 1<<16
	s.bufInitial = min(64, s.bufCount)
	// A conn may hold an eighth of the pool, at least 2 and at most 64
	// buffers, before its recv pauses: one slow reader cannot starve the rest.
	s.connBufs = int(s.bufCount / 8)
	if s.connBufs < 2 {
		s.connBufs = 2
	}
	if s.connBufs > 64 {
		s.connBufs = 64
	}
	if s.keepAlive == 0 {
		s.keepAlive = 15 * time.Second
	}
	return s, nil
}

// defaultRings is the number of rings for procs Ps (GOMAXPROCS) and cpus
// CPUs the process may use (usableCPUs, cpulimit.go): one fewer than the
// smaller, 1..64.
// One ring's round trips stay flat as cores are added (105k-152k a second
// from 2 to 8 cores of a 16-core machine: its loop thread is saturated),
// so the ring count is what scales a server. With the server alone on 4
// or 8 cores, N-1 rings gave 1.09-1.59x the round trips of N/2, and N
// rings 0.84-1.08x those of N-1 (tests/bench/scale-16core.txt). On 2
// cores shared with a load generator, 2 rings did worse than 1.
func defaultRings(procs, cpus int) int { return min(max(1, min(procs, cpus)-1), 64) }

// envInt reads a tuning knob from the environment (benchmarks only).
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
