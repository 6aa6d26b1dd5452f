package uringnet

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

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
	releaseControl, controlErr := blockInControl(t, rc)
	s.Close()
	pingEcho(t, c) // the loop tore s down meanwhile, or waits to
	// Control's reference holds fd open.
	if _, err := syscall.GetsockoptInt(s.c.fd, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil || s.c.fdr.closed() {
		t.Fatalf("descriptor closed while Control ran: %v", err)
	}
	releaseControl()
	if err := <-controlErr; err != nil {
		t.Fatalf("Control: %v", err)
	}
	if !s.c.fdr.closed() {
		t.Fatal("descriptor still open after Control returned")
	}
}

// blockInControl runs rc.Control with a function that blocks until
// releaseControl is called (at the latest when the test ends, also when it
// fails first), and returns once that function is running. Control's
// result comes on controlErr.
func blockInControl(t *testing.T, rc syscall.RawConn) (releaseControl func(), controlErr <-chan error) {
	inControl, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	releaseControl = func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseControl) // before the listener's Close, which waits for a listener's Control
	result := make(chan error, 1)
	go func() {
		result <- rc.Control(func(uintptr) { close(inControl); <-release })
	}()
	<-inControl
	return releaseControl, result
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
	// As package net's: a closed conn's RawConn exists, and its calls fail.
	rc, err = s.SyscallConn()
	if err != nil {
		t.Fatalf("SyscallConn after Close: %v", err)
	}
	checkOpError(t, rc.Control(func(uintptr) { t.Error("Control ran f after Close") }), "raw-control", net.ErrClosed)
	checkOpError(t, rc.Read(func(uintptr) bool { t.Error("Read ran f after Close"); return true }), "raw-read", net.ErrClosed)
	checkOpError(t, rc.Write(func(uintptr) bool { t.Error("Write ran f after Close"); return true }), "raw-write", net.ErrClosed)
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
	if err := rc.Control(func(uintptr) {}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Control after Close: %v", err)
	}
	// As package net's: a closed listener's RawConn exists, and fails.
	rc, err = ln.SyscallConn()
	if err != nil {
		t.Fatalf("SyscallConn after Close: %v", err)
	}
	checkOpError(t, rc.Control(func(uintptr) { t.Error("Control ran f after Close") }), "raw-control", net.ErrClosed)
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

// A listener's Control function that runs long holds the listening
// descriptor, not the ring: conns arriving meanwhile are accepted, and the
// ring's other conns are served.
func TestSlowListenerControlDoesNotStallRing(t *testing.T) {
	readsOnRing(t) // the other conn's echo goes through the loop
	ln := newTestListener(t, &ListenConfig{Rings: 1})
	other, c := pair(t, ln)
	go io.Copy(other, other)
	rc, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	releaseControl, controlErr := blockInControl(t, rc)
	for i := 0; i < 3; i++ { // the loop takes these from the kernel now
		d, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
	}
	pingEcho(t, c)
	ln.SetDeadline(time.Now().Add(10 * time.Second))
	s, err := ln.Accept() // one of the three, queued while Control ran
	if err != nil {
		t.Fatalf("Accept while Control runs: %v", err)
	}
	s.Close()
	releaseControl()
	if err := <-controlErr; err != nil {
		t.Fatalf("Control: %v", err)
	}
}

// A Control function may call its conn's and listener's own methods, also
// while another goroutine closes them: the descriptor is counted, not
// locked, so taking it again inside does not wait for the Close.
func TestControlCallsOwnMethodsRacingClose(t *testing.T) {
	ln := newTestListener(t, nil)
	within(t, 60*time.Second, "Control calling its conn's methods, racing Close", func() {
		for i := 0; i < 300; i++ {
			s, c := pair(t, ln)
			rc, err := s.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			inControl := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- rc.Control(func(uintptr) {
					close(inControl)
					for j := 0; j < 20; j++ {
						s.SetNoDelay(true)
						s.SetKeepAlive(true)
					}
				})
			}()
			<-inControl
			s.Close()
			if err := <-done; err != nil {
				t.Fatalf("Control: %v", err)
			}
			c.Close()
		}
	})
	lrc, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "Control calling its listener's methods", func() {
		err := lrc.Control(func(fd uintptr) {
			ln.SetDeadline(time.Now().Add(time.Minute))
			ln.SetDeadline(time.Time{})
			f, err := ln.File()
			if err != nil {
				t.Fatalf("File inside Control: %v", err)
			}
			f.Close()
		})
		if err != nil {
			t.Fatalf("Control: %v", err)
		}
	})
	expectEchoes(t, ln) // the ring still serves
}

// A Control function that panics gives its reference back: the conn's
// descriptor is closed at Close, as without the panic.
func TestControlPanicReleasesDescriptor(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Control's panic did not reach its caller")
			}
		}()
		rc.Control(func(uintptr) { panic("in Control") })
	}()
	s.Close()
	waitFor(t, 10*time.Second, "descriptor closed after Close", s.c.fdr.closed)
}
