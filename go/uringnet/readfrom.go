package uringnet

import (
	"io"
	"net"
	"runtime"
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
// (README). Errors are *net.OpError with Op "readfrom", as package net's.
func (pc *Conn) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.Copy(writerOnly{pc}, r)
	runtime.KeepAlive(pc)
	if oe, ok := err.(*net.OpError); ok && oe.Op == "write" {
		err = oe.Err // a Write's error, named for this call instead
	}
	if err != nil {
		err = pc.err("readfrom", err)
	}
	return n, err
}

// writerOnly hides ReadFrom so that io.Copy does not recurse.
type writerOnly struct{ io.Writer }
