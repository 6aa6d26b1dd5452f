package uringnet

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"
)

// The pool starts small and grows when recvs find it empty; data that
// arrived meanwhile is all delivered, in order.
func TestBufferPoolGrows(t *testing.T) {
	readsOnRing(t)
	ln := newTestListener(t, &ListenConfig{BufferCount: 1024, BufferSize: 1024, Rings: 1})
	if got := ln.Stats().Buffers; got != 64 {
		t.Fatalf("pool starts with %d buffers, want 64", got)
	}
	const conns, size = 40, 4096 // 160 buffers of data against a pool of 64
	servers := make([]*Conn, conns)
	msgs := make([][]byte, conns)
	for i := range servers {
		s, cl := pair(t, ln)
		servers[i] = s
		msgs[i] = bytes.Repeat([]byte{byte('a' + i%26)}, size)
		msgs[i][0] = byte(i)
		if _, err := cl.Write(msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for ln.Stats().Buffers <= 64 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := ln.Stats()
	if st.Buffers <= 64 || st.Buffers > 1024 {
		t.Fatalf("pool has %d buffers after %d ENOBUFS, want 65..1024", st.Buffers, st.ENOBUFS)
	}
	for i, s := range servers {
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		got := make([]byte, size)
		if _, err := io.ReadFull(s, got); err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		if !bytes.Equal(got, msgs[i]) {
			t.Fatalf("conn %d: data differs", i)
		}
	}
	t.Logf("pool grew to %d buffers (%d ENOBUFS)", ln.Stats().Buffers, ln.Stats().ENOBUFS)
}

// Small messages share buffers where the kernel consumes the pool
// incrementally: 200 conns holding 64 unread bytes each fit in the 64
// buffers the pool starts with. With a whole buffer per recv (older
// kernels, or URINGNET_BUF_INC=0) the same load makes the pool grow to a
// buffer per message. Every conn reads its own bytes either way.
func TestSmallMessagesShareBuffers(t *testing.T) {
	requireUring(t)
	incremental := slices.Contains(Diagnose().Features, "INCREMENTAL_BUFFERS")
	for _, tc := range []struct {
		name string
		inc  bool
	}{{"incremental", true}, {"whole", false}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.inc && !incremental {
				t.Skip("SKIP: this kernel consumes the pool a whole buffer per recv (Linux 6.16+ needed)")
			}
			if !tc.inc {
				t.Setenv("URINGNET_BUF_INC", "0")
			}
			readsOnRing(t)
			ln := newTestListener(t, &ListenConfig{Rings: 1})
			conns := connsThatFit(t, 200, 2)
			servers := make([]*Conn, conns)
			for i := range servers {
				s, cl := pair(t, ln)
				servers[i] = s
				if _, err := fmt.Fprintf(cl, "message %62d", i); err != nil { // 70 bytes
					t.Fatal(err)
				}
			}
			if tc.inc {
				// Every conn's accept and recv completed (wake-ups aside).
				waitFor(t, 10*time.Second, "every message received", func() bool {
					st := ln.Stats()
					return st.CQEs-st.Wakeups >= uint64(2*conns)
				})
				if st := ln.Stats(); st.Buffers != 64 || st.ENOBUFS != 0 {
					t.Fatalf("%d messages of 70 bytes: the pool has %d buffers after %d ENOBUFS, want 64 and 0",
						conns, st.Buffers, st.ENOBUFS)
				}
			} else {
				waitFor(t, 10*time.Second, "a buffer per message", func() bool {
					return ln.Stats().Buffers >= uint64(conns)
				})
			}
			for i, s := range servers {
				s.SetReadDeadline(time.Now().Add(10 * time.Second))
				got := make([]byte, 70)
				if _, err := io.ReadFull(s, got); err != nil {
					t.Fatalf("conn %d: %v", i, err)
				}
				if want := fmt.Sprintf("message %62d", i); string(got) != want {
					t.Fatalf("conn %d read %q, want %q", i, got, want)
				}
			}
			t.Logf("%d conns: pool of %d buffers, %d ENOBUFS", conns, ln.Stats().Buffers, ln.Stats().ENOBUFS)
		})
	}
}
