package uringnet

import (
	"crypto/sha256"
	"io"
	"math/rand"
	"testing"
	"time"
)

// Both directions at once with a slow reader on each side: backpressure
// must hold data in the kernel, not deadlock or lose bytes.
func TestFullDuplexSlowReaders(t *testing.T) {
	total := int64(scale(32, 256)) << 20
	ln := newTestListener(t, &ListenConfig{BufferCount: 64})
	s, c := pair(t, ln)

	send := func(w io.Writer, seed int64) []byte {
		h := sha256.New()
		rng := rand.New(rand.NewSource(seed))
		buf := make([]byte, 256<<10)
		for sent := int64(0); sent < total; {
			n := int64(1 + rng.Intn(len(buf)))
			if n > total-sent {
				n = total - sent
			}
			rng.Read(buf[:n])
			h.Write(buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				t.Error(err)
				return nil
			}
			sent += n
		}
		return h.Sum(nil)
	}
	recv := func(r io.Reader) []byte {
		h := sha256.New()
		buf := make([]byte, 4<<10)
		for got := int64(0); got < total; {
			n, err := r.Read(buf)
			if err != nil {
				t.Error(err)
				return nil
			}
			h.Write(buf[:n])
			got += int64(n)
			if got%(8<<20) < int64(n) {
				time.Sleep(time.Millisecond) // a slow reader now and then
			}
		}
		return h.Sum(nil)
	}
	var sentS, sentC, gotS, gotC []byte
	done := make(chan struct{}, 4)
	go func() { sentS = send(s, 1); done <- struct{}{} }()
	go func() { sentC = send(c, 2); done <- struct{}{} }()
	go func() { gotC = recv(c); done <- struct{}{} }()
	go func() { gotS = recv(s); done <- struct{}{} }()
	within(t, 5*time.Minute, "full duplex transfer", func() {
		for i := 0; i < 4; i++ {
			<-done
		}
	})
	if string(sentS) != string(gotC) || string(sentC) != string(gotS) {
		t.Fatal("checksums differ")
	}
	t.Logf("%d MiB each way verified; ring %+v", total>>20, ln.Stats())
}
