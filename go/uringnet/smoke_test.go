package uringnet

import (
	"bytes"
	"context"
	"io"
	"testing"
)

var bg = context.Background()

func TestEchoSmoke(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	go io.Copy(s, s)
	msg := []byte("hello, io_uring")
	for i := 0; i < 100; i++ {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("got %q", got)
		}
	}
	t.Logf("stats %+v", ln.Stats())
}
