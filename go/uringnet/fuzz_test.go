package uringnet

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var fuzzLn struct {
	once sync.Once
	ln   *Listener
	err  error
}

// FuzzConnOps drives a random interleaving of conn operations from the fuzz
// input and checks what package net promises: bytes arrive in order and
// whole, every call returns, errors have the right shape.
func FuzzConnOps(f *testing.F) {
	f.Add([]byte{0, 10, 1, 10, 2, 5, 3, 5})
	f.Add([]byte{0, 200, 4, 0, 1, 50, 4, 2, 1, 255, 6})
	f.Add([]byte{2, 255, 2, 255, 5, 3, 255, 3, 255, 7})
	f.Add([]byte{0, 1, 6, 1, 1, 0, 2})
	f.Add([]byte{0, 10, 8, 5, 0, 3, 1, 2, 9, 200, 3, 255, 2, 4, 8, 1})
	f.Fuzz(func(t *testing.T, prog []byte) { runConnOps(t, fuzzListener(t), prog) })
}

// TestConnOpsRandomized runs random FuzzConnOps inputs one after another
// in one process, on one listener of their own. A fuzz worker that takes
// over 10 s on an input is killed with its output discarded ("fuzzing
// process hung or terminated unexpectedly"), and the input alone may not
// hang again, since the ring's state carries over between inputs; here a
// hang ends in within's goroutine dump. It found a deadlock the fuzzer
// reported only as that (TestSocketCallsRacingClose).
// On unix conns, ops 8 and 9 are ReadMsgUnix and WriteMsgUnix.
func TestConnOpsRandomized(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			requireUring(t)
			address := "127.0.0.1:0"
			if network == "unix" {
				address = filepath.Join(t.TempDir(), "ops.sock")
			}
			cfg := connOpsConfig
			nl, err := cfg.Listen(bg, network, address)
			if err != nil {
				t.Fatal(err)
			}
			defer nl.Close()
			ln := nl.(*Listener)
			rng := rand.New(rand.NewSource(time.Now().UnixNano()))
			n := scale(100, 5000)
			for i := 0; i < n; i++ {
				prog := make([]byte, rng.Intn(82))
				rng.Read(prog)
				func() {
					defer func() {
						if t.Failed() {
							t.Logf("failed on input %d: %q", i, prog)
						}
					}()
					runConnOps(t, ln, prog)
				}()
			}
		})
	}
}

// connOpsConfig is the listener the inputs run on: a small buffer pool,
// so that recv runs out of buffers.
var connOpsConfig = ListenConfig{Require: true, BufferCount: 16, BufferSize: 512}

// fuzzListener is one listener for all of a fuzz worker's inputs, never
// closed: a worker runs inputs until it is stopped.
func fuzzListener(t *testing.T) *Listener {
	requireUring(t)
	fuzzLn.once.Do(func() {
		var ln net.Listener
		cfg := connOpsConfig
		ln, fuzzLn.err = cfg.Listen(bg, "tcp", "127.0.0.1:0")
		if fuzzLn.err == nil {
			fuzzLn.ln = ln.(*Listener)
		}
	})
	if fuzzLn.err != nil {
		t.Fatal(fuzzLn.err)
	}
	return fuzzLn.ln
}

// runConnOps runs one input on a conn accepted from ln: pairs of (op,
// argument) bytes.
func runConnOps(t *testing.T, ln *Listener, prog []byte) {
	s, c := pair(t, ln)
	defer s.Close() // now, not at the end of a test that runs many inputs
	defer c.Close()
	var sent, got []byte   // client -> server
	var sSent, cGot []byte // server -> client
	serverClosed, wroteClosed := false, false
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	within(t, 30*time.Second, "fuzzed op sequence", func() {
		// At most 40 ops, so one input takes at most ~2 s of deadlines.
		for i := 0; i+1 < len(prog) && i < 80; i += 2 {
			op, arg := prog[i]%10, int(prog[i+1])*16+1
			switch op {
			case 0: // client writes
				p := bytes.Repeat([]byte{byte(len(sent))}, arg)
				if _, err := c.Write(p); err == nil {
					sent = append(sent, p...)
				}
			case 1: // server reads, bounded by a short deadline
				s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				n, err := s.Read(buf[:min(arg, len(buf))])
				got = append(got, buf[:n]...)
				checkFuzzErr(t, err, "read", serverClosed)
			case 2: // server writes, bounded by a deadline
				s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
				p := bytes.Repeat([]byte{byte(len(sSent))}, arg)
				n, err := s.Write(p)
				sSent = append(sSent, p[:n]...)
				checkFuzzErr(t, err, "write", serverClosed || wroteClosed)
			case 3: // client reads what is there
				c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				n, _ := c.Read(buf[:min(arg, len(buf))])
				cGot = append(cGot, buf[:n]...)
			case 4: // deadline games
				s.SetDeadline(time.Now().Add(time.Duration(arg-128) * time.Millisecond))
			case 5:
				if s.CloseWrite() == nil {
					wroteClosed = true
				}
			case 6:
				s.Close()
				serverClosed = true
			case 7:
				s.SetDeadline(time.Time{})
			case 8: // server reads through RawConn (unix: ReadMsgUnix), bounded by a short deadline
				s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				if s.c.unix {
					n, _, _, _, err := s.ReadMsgUnix(buf[:min(arg, len(buf))], nil)
					got = append(got, buf[:n]...)
					checkFuzzErr(t, err, "read", serverClosed)
					break
				}
				n, err := rawRecv(rc, buf[:min(arg, len(buf))], new(int))
				got = append(got, buf[:n]...)
				if _, reset := err.(syscall.Errno); !reset && !errors.Is(err, errRawReadQueued) {
					checkFuzzErr(t, err, "raw-read", serverClosed) // recv(2)'s own errors: the peer's reset
				}
			case 9: // server writes through RawConn (unix: WriteMsgUnix), bounded by a deadline
				s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
				p := bytes.Repeat([]byte{byte(len(sSent))}, arg)
				if s.c.unix {
					n, _, err := s.WriteMsgUnix(p, nil, nil)
					sSent = append(sSent, p[:n]...)
					checkFuzzErr(t, err, "write", serverClosed || wroteClosed)
					break
				}
				n, err := rawSend(rc, p, new(int))
				sSent = append(sSent, p[:n]...)
				if _, reset := err.(syscall.Errno); !reset {
					checkFuzzErr(t, err, "raw-write", serverClosed || wroteClosed) // write(2)'s own errors: EPIPE, a reset
				}
			}
		}
	})
	if !bytes.HasPrefix(sent, got) {
		t.Fatalf("server read bytes the client did not send in that order")
	}
	if !bytes.HasPrefix(sSent, cGot) {
		t.Fatalf("client read bytes the server did not send in that order")
	}
}

func checkFuzzErr(t *testing.T, err error, op string, closed bool) {
	t.Helper()
	if err == nil || err == io.EOF {
		return
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op {
		t.Fatalf("%s error %v is not a *net.OpError for %q", op, err, op)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) && !closed {
		t.Fatalf("unexpected %s error on an open conn: %v", op, err)
	}
}
