package uringnet

import (
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
)

// ReadFrom implements io.ReaderFrom, so io.Copy(conn, file) and
// http.ServeFile take a zero-copy path: when r is an *os.File holding a
// regular file (or an *io.LimitedReader of one), its pages go file → pipe
// with splice(2) and pipe → socket with an io_uring SPLICE op, never through
// user memory. Other readers are copied through a buffer. Errors are
// *net.OpError with Op "readfrom", as package net's.
func (pc *Conn) ReadFrom(r io.Reader) (int64, error) {
	raceReleaseIO()
	n, handled, err := pc.c.spliceFrom(r)
	runtime.KeepAlive(pc)
	if handled {
		return n, pc.err("readfrom", err)
	}
	m, err := io.Copy(writerOnly{pc}, r)
	return n + m, err
}

// regularFile is the part of *os.File the splice path needs.
type regularFile interface {
	Stat() (os.FileInfo, error)
	SyscallConn() (syscall.RawConn, error)
}

// writerOnly hides ReadFrom so that io.Copy does not recurse.
type writerOnly struct{ io.Writer }

// spliceChunk is how much one pipe round moves: the pipe is grown to it,
// since each round costs a ring round trip.
const spliceChunk = 1 << 20

// spliceFrom moves a regular file's bytes to the socket. handled is false
// when r is not such a file and nothing was read from it.
func (c *conn) spliceFrom(r io.Reader) (written int64, handled bool, err error) {
	remain := int64(1<<63 - 1)
	lr, isLimited := r.(*io.LimitedReader)
	if isLimited {
		remain, r = lr.N, lr.R
	}
	// *os.File, or what os.File.WriteTo hands to writers it has no fast path
	// for (a wrapper embedding the *os.File): either has these methods.
	f, ok := r.(regularFile)
	if !ok {
		return 0, false, nil
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return 0, false, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return 0, false, nil
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	chunk := int64(64 << 10) // the default pipe size, if growing it is refused (pipe-max-size)
	if got, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(p[1]), syscall.F_SETPIPE_SZ, spliceChunk); e == 0 {
		chunk = int64(got)
	}

	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.drain(); err != nil { // bytes written before go first
		return 0, true, err
	}
	for remain > 0 {
		// file -> pipe: a page-cache operation, done here.
		var moved int
		var serr error
		rerr := rc.Read(func(fd uintptr) bool {
			moved, serr = spliceSyscall(int(fd), p[1], int(min(remain, chunk)))
			return serr != syscall.EAGAIN
		})
		if rerr == nil {
			rerr = serr
		}
		if rerr != nil {
			err = os.NewSyscallError("splice", rerr)
			break
		}
		if moved == 0 {
			break // end of file
		}
		// pipe -> socket: through the ring, parked until it is done.
		n, werr := c.splicePipe(p[0], moved)
		written += int64(n)
		remain -= int64(n)
		if werr != nil {
			err = werr
			break
		}
	}
	if isLimited {
		lr.N = remain
	}
	return written, true, err
}

// splicePipe sends n bytes waiting in the pipe to the socket via the ring.
func (c *conn) splicePipe(pipe, n int) (int, error) {
	c.mu.Lock()
	if err := c.blockedLocked(&c.wdl); err != nil {
		c.mu.Unlock()
		return 0, err
	}
	c.sendDone = false
	c.mu.Unlock()
	if !c.r.submit(request{kind: reqSplice, c: c, addr: uintptr(pipe), n: uint32(n)}) {
		return 0, net.ErrClosed
	}
	return c.waitSend()
}

func spliceSyscall(in, out, n int) (int, error) {
	for {
		m, _, e := syscall.Syscall6(syscall.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), spliceFMove|spliceFNonblock)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(m), nil
	}
}

const (
	spliceFMove     = 0x1
	spliceFNonblock = 0x2
)
