package uringnet

import (
	"bytes"
	"io"
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
