package uringnet

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stress reports whether the long variants run (make stress).
func stress() bool { return os.Getenv("URINGNET_STRESS") != "" }

// scale picks the fast or the stress value.
func scale(fast, long int) int {
	if stress() {
		return long
	}
	return fast
}

// serveEcho accepts on ln and echoes every conn until ln closes.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if ne, ok := err.(net.Error); ok && ne.Temporary() {
			time.Sleep(5 * time.Millisecond) // out of descriptors: as net/http's Serve
			continue
		}
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// echoCheck dials addr and checks an echo of size bytes on it (echoCheckConn).
func echoCheck(addr net.Addr, size int, seed int64) error {
	c, err := net.DialTimeout(addr.Network(), addr.String(), 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	return echoCheckConn(c, size, seed)
}

// echoCheckConn sends size random bytes in random chunks on c, a conn to an
// echo server, while reading the echo in random chunks, and compares
// checksums.
func echoCheckConn(c net.Conn, size int, seed int64) error {
	c.SetDeadline(time.Now().Add(120 * time.Second))
	rng := rand.New(rand.NewSource(seed))
	payload := make([]byte, size)
	rng.Read(payload)
	want := sha256.Sum256(payload)
	werr := make(chan error, 1)
	go func() {
		wrng := rand.New(rand.NewSource(seed + 1))
		for off := 0; off < size; {
			n := 1 + wrng.Intn(64<<10)
			if off+n > size {
				n = size - off
			}
			if _, err := c.Write(payload[off : off+n]); err != nil {
				werr <- err
				return
			}
			off += n
		}
		werr <- nil
	}()
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for got := 0; got < size; {
		n := 1 + rng.Intn(len(buf))
		if n > size-got {
			n = size - got
		}
		n, err := c.Read(buf[:n])
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", got, size, err)
		}
		h.Write(buf[:n])
		got += n
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), want[:]) {
		return fmt.Errorf("%d bytes: checksum mismatch", size)
	}
	return nil
}

// logSize draws a size from 1 B to 1 MiB, uniform in log scale.
func logSize(rng *rand.Rand) int { return int(math.Exp(rng.Float64() * math.Log(1<<20))) }

func runIntegrity(t *testing.T, ln *Listener, conns int) {
	go serveEcho(ln)
	var bytesOK atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	// Conns at a time: each costs the client's descriptor, the server's
	// and its direct reader's dup.
	sem := make(chan struct{}, connsThatFit(t, 1000, 3))
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			size := max(1, logSize(rand.New(rand.NewSource(int64(i)))))
			if err := echoCheck(ln.Addr(), size, int64(i)); err != nil {
				errs <- fmt.Errorf("conn %d: %w", i, err)
				return
			}
			bytesOK.Add(int64(size))
		}(i)
	}
	within(t, 5*time.Minute, "checksummed echo", wg.Wait)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := ln.Stats()
	t.Logf("%d conns, %d bytes verified each way; ring: %d CQEs, %d ENOBUFS, %d overflow passes, %d enters",
		conns, bytesOK.Load(), st.CQEs, st.ENOBUFS, st.Overflows, st.Enters)
}

func TestIntegrityEcho(t *testing.T) {
	runIntegrity(t, newTestListener(t, nil), scale(300, 1000))
}

// The same over unix sockets and IPv6, whose sockets differ from IPv4's
// in buffer sizes and options (SO_LINGER, SIOCINQ: Close).
func TestIntegrityUnixAndTCP6(t *testing.T) {
	requireUring(t)
	for _, tc := range []struct{ network, addr string }{
		{"unix", filepath.Join(t.TempDir(), "echo.sock")},
		{"tcp6", "[::1]:0"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			ln, err := (&ListenConfig{Require: true}).Listen(bg, tc.network, tc.addr)
			if err != nil && tc.network == "tcp6" {
				t.Skipf("SKIP: no IPv6 loopback: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			runIntegrity(t, ln.(*Listener), scale(200, 1000))
		})
	}
}

// A pool of 8 buffers for hundreds of conns: recv hits -ENOBUFS constantly.
func TestIntegrityTinyBufferPool(t *testing.T) {
	runIntegrity(t, newTestListener(t, &ListenConfig{BufferCount: 8, BufferSize: 512}), scale(100, 1000))
}

// An 8-entry SQ (64-entry CQ): completions overflow the CQ under load.
func TestIntegrityTinyRing(t *testing.T) {
	runIntegrity(t, newTestListener(t, &ListenConfig{RingEntries: 8}), scale(200, 1000))
}

// A pool consumed a whole buffer per recv, as on kernels before 6.16 (the
// tests above share buffers between recvs where the kernel can), with the
// tiny ring's overflows.
func TestIntegrityWholeBuffers(t *testing.T) {
	t.Setenv("URINGNET_BUF_INC", "0")
	runIntegrity(t, newTestListener(t, &ListenConfig{RingEntries: 8}), scale(200, 1000))
}
