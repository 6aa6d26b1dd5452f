package uringnet

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// requireMPTCP skips unless the kernel makes MPTCP sockets
// (net.mptcp.enabled, CONFIG_MPTCP).
func requireMPTCP(t *testing.T) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0x106) // IPPROTO_MPTCP
	if err != nil {
		t.Skipf("SKIP: the kernel makes no MPTCP sockets: %v", err)
	}
	syscall.Close(fd)
}

// An MPTCP listener (Go 1.24's default for net.ListenConfig) serves MPTCP
// clients, package net's and uringnet's, and plain TCP ones; each conn
// reports what it runs on, and carries 1 MiB each way intact.
func TestMultipathTCP(t *testing.T) {
	requireUring(t)
	requireMPTCP(t)
	lc := ListenConfig{Require: true}
	lc.SetMultipathTCP(true)
	if !lc.MultipathTCP() {
		t.Fatal("ListenConfig.MultipathTCP false after SetMultipathTCP(true)")
	}
	nl, err := lc.Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := nl.(*Listener)
	defer ln.Close()
	accepted := make(chan *Conn, 1)
	go func() {
		for {
			c, err := ln.AcceptUring()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()

	var mptcpStd net.Dialer
	mptcpStd.SetMultipathTCP(true)
	var mptcpUring Dialer
	mptcpUring.SetMultipathTCP(true)
	if !mptcpUring.MultipathTCP() {
		t.Fatal("Dialer.MultipathTCP false after SetMultipathTCP(true)")
	}
	var plainStd net.Dialer
	plainStd.SetMultipathTCP(false)
	for _, tc := range []struct {
		name  string
		dial  func(addr string) (net.Conn, error)
		mptcp bool
	}{
		{"net-mptcp", func(a string) (net.Conn, error) { return mptcpStd.Dial("tcp", a) }, true},
		{"uringnet-mptcp", func(a string) (net.Conn, error) { return mptcpUring.Dial("tcp", a) }, true},
		{"net-tcp", func(a string) (net.Conn, error) { return plainStd.Dial("tcp", a) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.dial(ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var s *Conn
			select {
			case s = <-accepted:
			case <-time.After(10 * time.Second):
				t.Fatal("accept timed out")
			}
			if got, err := s.MultipathTCP(); err != nil || got != tc.mptcp {
				t.Fatalf("accepted conn: MultipathTCP() = %v, %v; want %v", got, err, tc.mptcp)
			}
			if uc, ok := c.(*Conn); ok {
				if got, err := uc.MultipathTCP(); err != nil || got != tc.mptcp {
					t.Fatalf("dialed conn: MultipathTCP() = %v, %v; want %v", got, err, tc.mptcp)
				}
			}
			if err := echoCheckConn(c, 1<<20, 1); err != nil {
				t.Fatal(err)
			}
		})
	}

	off := ListenConfig{}
	off.SetMultipathTCP(false)
	if off.MultipathTCP() {
		t.Fatal("ListenConfig.MultipathTCP true after SetMultipathTCP(false)")
	}
}

// A conn says what its peer's package net conn says (MPTCP under
// GODEBUG=multipathtcp=1, as make test's second pass runs, else TCP), and
// MultipathTCP on a closed conn is net.ErrClosed, as every call is.
func TestMultipathTCPAfterClose(t *testing.T) {
	ln := newTestListener(t, nil)
	s, c := pair(t, ln)
	want, err := c.(*net.TCPConn).MultipathTCP()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.MultipathTCP(); err != nil || got != want {
		t.Fatalf("MultipathTCP() = %v, %v; the peer's package net conn says %v", got, err, want)
	}
	s.Close()
	_, err = s.MultipathTCP()
	checkOpError(t, err, "get", net.ErrClosed)
}

// Close with bytes queued after the peer's FIN has been read sends them and
// ends cleanly, as package net's close(2) does: the FIN is not unread data.
// MPTCP's SIOCINQ counts a received FIN as one byte, and taking that for
// unread data reset such conns (a hijacked HTTP conn echoing to EOF, then
// closing, did).
func TestCloseAfterPeerFINSendsQueuedBytes(t *testing.T) {
	for _, mptcp := range []bool{false, true} {
		name := "tcp"
		if mptcp {
			name = "mptcp"
		}
		t.Run(name, func(t *testing.T) {
			if mptcp {
				requireMPTCP(t)
			}
			lc := ListenConfig{}
			lc.SetMultipathTCP(mptcp)
			var d net.Dialer
			d.SetMultipathTCP(mptcp)
			ln := newTestListener(t, &lc)
			s, c := pairDialed(t, ln, &d)
			if got, _ := s.MultipathTCP(); got != mptcp {
				t.Fatalf("conn on MPTCP: %v, want %v", got, mptcp)
			}
			sent := fill(t, s) // c does not read yet: bytes stay queued in the outbox
			c.(*net.TCPConn).CloseWrite()
			s.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := s.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("Read after the peer's FIN: %d, %v; want io.EOF", n, err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			expectPeerReads(t, c, sent)
		})
	}
}
