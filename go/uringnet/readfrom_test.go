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
	"sync"
	"syscall"
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

// A Control function that runs long holds its conn's descriptor, not the
// ring: the conn closed meanwhile has its descriptor closed once the
// function returns, and the ring's other conns are served in between.
func TestSlowControlDoesNotStallRing(t *testing.T) {
	readsOnRing(t) // the other conn's echo goes through the loop
	ln := newTestListener(t, &ListenConfig{Rings: 1})
	s, _ := pair(t, ln)
	other, c := pair(t, ln)
	go io.Copy(other, other)
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	inControl, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	releaseControl := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseControl() // also when the test fails first
	controlErr := make(chan error, 1)
	go func() {
		controlErr <- rc.Control(func(uintptr) { close(inControl); <-release })
	}()
	<-inControl
	s.Close()
	pingEcho(t, c) // the loop tore s down meanwhile, or waits to
	// Read without fdmu: a goroutine waiting to close fd may hold the
	// write lock's place, and a new read lock would queue behind it. Its
	// write comes after Control returns (release, then RUnlock).
	if s.c.fd < 0 {
		t.Fatal("descriptor closed while Control ran")
	}
	releaseControl()
	if err := <-controlErr; err != nil {
		t.Fatalf("Control: %v", err)
	}
	waitFor(t, 10*time.Second, "descriptor closed after Control", func() bool {
		s.c.fdmu.RLock()
		defer s.c.fdmu.RUnlock()
		return s.c.fd < 0
	})
}

func TestSyscallConnAndFile(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var sndbuf int
	if err := rc.Control(func(fd uintptr) {
		sndbuf, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	}); err != nil || sndbuf <= 0 {
		t.Fatalf("Control: %v, SO_SNDBUF %d", err, sndbuf)
	}
	if err := rc.Read(func(uintptr) bool { return true }); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("RawConn.Read: %v, want a clear not-supported error", err)
	}
	checkOpError(t, rc.Write(func(uintptr) bool { return true }), "raw-write", errRawIO)

	f, err := s.File()
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("via file"))
	f.Close()
	buf := make([]byte, 8)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "via file" {
		t.Fatalf("write through File(): %q %v", buf, err)
	}
	// The conn still works after the copy is closed.
	s.Write([]byte("!"))
	if _, err := io.ReadFull(c, buf[:1]); err != nil || buf[0] != '!' {
		t.Fatalf("conn after File().Close: %v", err)
	}
	s.Close()
	if _, err := s.SyscallConn(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SyscallConn after Close: %v", err)
	}
	if _, err := s.File(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("File after Close: %v", err)
	}
}

func TestListenerSyscallConnAndFile(t *testing.T) {
	ln := newTestListener(t, nil)
	rc, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var listening int
	if err := rc.Control(func(fd uintptr) {
		listening, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	}); err != nil || listening != 1 {
		t.Fatalf("Control: %v, SO_ACCEPTCONN %d", err, listening)
	}
	checkOpError(t, rc.Read(func(uintptr) bool { return true }), "raw-read", errRawIO)

	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	// The copy is the same listening socket, in blocking mode (read
	// through SyscallConn: Fd would make it blocking).
	frc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl uintptr
	var errno syscall.Errno
	frc.Control(func(fd uintptr) {
		fl, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		listening, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	})
	if errno != 0 || fl&syscall.O_NONBLOCK != 0 || listening != 1 {
		t.Fatalf("File's flags %#x (%v), SO_ACCEPTCONN %d: want a blocking listening socket", fl, errno, listening)
	}
	f.Close()
	// The listener still accepts after the copy is closed.
	s, c := pair(t, ln)
	c.Write([]byte("x"))
	buf := make([]byte, 1)
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(s, buf); err != nil {
		t.Fatalf("conn accepted after File().Close: %v", err)
	}

	ln.Close()
	if _, err := ln.SyscallConn(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SyscallConn after Close: %v", err)
	}
	if err := rc.Control(func(uintptr) {}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Control after Close: %v", err)
	}
	if _, err := ln.File(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("File after Close: %v", err)
	}
}

// Close waits for a running Control: the descriptor stays open under f.
func TestListenerControlHoldsFDOpen(t *testing.T) {
	ln := newTestListener(t, nil)
	rc, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var closeErr error
	err = rc.Control(func(fd uintptr) {
		go func() { closeErr = ln.Close(); close(done) }()
		select {
		case <-done:
			t.Errorf("Close returned during Control: %v", closeErr)
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN); err != nil {
			t.Errorf("fd during Control, with Close waiting: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if closeErr != nil {
			t.Fatalf("Close after Control: %v", closeErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after Control")
	}
}
