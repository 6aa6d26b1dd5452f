package uringnet

import (
	"io"
	"net"
	"os"
	"runtime"
	"sync"
)

// ReadFrom implements io.ReaderFrom, so that io.Copy(conn, r) and
// http.ServeFile find it as they do on a *net.TCPConn. It copies r through
// a buffer into Writes: with write-behind (WriteBuffer) each Write returns
// once its bytes are queued, so reading r overlaps sending.
//
// Files take the same path. A zero-copy path (file -> pipe with splice(2),
// pipe -> socket with the ring's SPLICE op) was measured against it and
// removed: the kernel runs a ring's SPLICE on a worker thread, and a 16 MiB
// file went at 0.7-1.3x package net's sendfile throughput for 1.6-1.8 ns
// of CPU per byte, against 1.4-1.9x for 0.9-1.2 ns through the outbox
// (tests/bench/README.md).
//
// Errors are *net.OpError with Op "readfrom", as package net's.
func (pc *Conn) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	var err error
	_, writesItself := r.(io.WriterTo)
	if _, isFile := r.(*os.File); writesItself && !isFile {
		n, err = io.Copy(writerOnly{pc}, r) // bytes.Reader and the like
	} else {
		// Through a pooled buffer: io.Copy would allocate one per call (so
		// would an *os.File's WriteTo, for a writer without a poll
		// descriptor), and a file server calls this once per request.
		buf := copyBufs.Get().(*[]byte)
		n, err = io.CopyBuffer(writerOnly{pc}, readerOnly{r}, *buf)
		copyBufs.Put(buf)
	}
	runtime.KeepAlive(pc)
	if oe, ok := err.(*net.OpError); ok && oe.Op == "write" {
		err = oe.Err // a Write's error, named for this call instead
	}
	if err != nil {
		err = pc.err("readfrom", err)
	}
	return n, err
}

// copyBufs holds ReadFrom's buffers, of io.Copy's size: each Write of one
// fits the outbox (WriteBuffer, 64 KiB by default) and returns once queued.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerOnly hides ReadFrom so that io.Copy does not recurse.
type writerOnly struct{ io.Writer }

// readerOnly hides WriteTo so that io.CopyBuffer uses the buffer it is given.
type readerOnly struct{ io.Reader }
