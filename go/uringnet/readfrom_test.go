package uringnet

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func tempFile(t testing.TB, size int) (string, []byte) {
	data := make([]byte, size)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// io.Copy from a file arrives whole, with write-behind (Writes queued in
// the outbox) and without (each Write sent from the caller's buffer).
func TestReadFromFile(t *testing.T) {
	for _, writeBuf := range []int{0, -1} {
		ln := newTestListener(t, &ListenConfig{WriteBuffer: writeBuf})
		s, c := pair(t, ln)
		path, data := tempFile(t, 5<<20+123)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(c, int64(len(data))))
			got <- b
		}()
		n, err := io.Copy(s, f) // uses (*Conn).ReadFrom
		f.Close()
		if err != nil || n != int64(len(data)) {
			t.Fatalf("WriteBuffer %d: io.Copy: %d, %v", writeBuf, n, err)
		}
		var b []byte
		within(t, 30*time.Second, "peer reads", func() { b = <-got })
		if !bytes.Equal(b, data) {
			t.Fatalf("WriteBuffer %d: file bytes differ", writeBuf)
		}
	}
}

func TestReadFromLimitedAndOtherReaders(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	path, data := tempFile(t, 300<<10)
	f, _ := os.Open(path)
	defer f.Close()
	want := append(append([]byte{}, data[:100<<10]...), "tail"...)
	// The peer reads as the bytes come: with small socket buffers
	// (net.ipv4.tcp_wmem), 100 KiB would not fit in them and the outbox.
	got := make(chan error, 1)
	go func() {
		b := make([]byte, len(want))
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if n, err := io.ReadFull(c, b); err != nil {
			got <- fmt.Errorf("peer got %d bytes: %v", n, err)
		} else if !bytes.Equal(b, want) {
			got <- errors.New("peer got other bytes")
		}
		close(got)
	}()
	lr := &io.LimitedReader{R: f, N: 100 << 10}
	n, err := s.ReadFrom(lr)
	if err != nil || n != 100<<10 || lr.N != 0 {
		t.Fatalf("limited: %d, %v, N=%d", n, err, lr.N)
	}
	n, err = s.ReadFrom(strings.NewReader("tail")) // not a file: plain copy
	if err != nil || n != 4 {
		t.Fatalf("strings.Reader: %d %v", n, err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// ReadFrom copies a file through a pooled buffer: sending one allocates
// far less than the 32 KiB buffer io.Copy would make per call. A GC may
// empty the pool now and then, hence an average over many calls; under
// -race sync.Pool also drops a quarter of what is put back.
func TestReadFromFileReusesItsBuffer(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	path, data := tempFile(t, 256<<10)
	const calls = 40
	limit := uint64(8 << 10)
	if raceEnabled {
		limit = 24 << 10
	}
	go io.Copy(io.Discard, io.LimitReader(c, calls*int64(len(data))))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < calls; i++ {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(s, f); err != nil { // File.WriteTo, then ReadFrom
			t.Fatal(err)
		}
		f.Close()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / calls; per > limit {
		t.Fatalf("%d bytes allocated per file sent: want at most %d", per, limit)
	}
}

func TestReadFromAfterClose(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	path, _ := tempFile(t, 1<<20)
	f, _ := os.Open(path)
	defer f.Close()
	s.Close()
	_, err := s.ReadFrom(f)
	checkOpError(t, err, "readfrom", net.ErrClosed)
}

func TestServeFileOverUring(t *testing.T) {
	ln := newTestListener(t, nil)
	path, data := tempFile(t, 2<<20)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("ServeFile: %d bytes, %v", len(b), err)
	}
}
