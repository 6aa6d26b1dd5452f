package uringnet

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Listen announces on the local network address, like net.Listen, and serves
// its connections through io_uring. network is "tcp", "tcp4", "tcp6" or
// "unix"; other networks (say "unixpacket", whose records a stream would
// merge) get package net's listener or error. When io_uring cannot be used
// (see Available), Listen returns a listener from package net instead.
func Listen(network, address string) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(context.Background(), network, address)
}

// Listen is like the package-level Listen with lc's options. With
// lc.Require set it returns an error instead of falling back.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	s, err := lc.settings()
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	std := net.ListenConfig{KeepAlive: lc.KeepAlive, Control: lc.Control}
	lc.mptcp.applyTo(std.SetMultipathTCP)
	if why := notServed(network); why != nil {
		if lc.Require {
			return nil, &net.OpError{Op: "listen", Net: network, Err: why}
		}
		return std.Listen(ctx, network, address)
	}
	return listenUring(ctx, s, &std, network, address)
}

// isStream reports whether io_uring serves network: the byte streams of
// TCP and unix stream sockets. Datagram and record networks, and names
// package net does not know, are left to package net.
func isStream(network string) bool {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
		return true
	}
	return false
}

// errNotStream is the error for a network io_uring does not serve, where
// the caller asked for io_uring (Require).
func errNotStream(network string) error {
	return fmt.Errorf("uringnet: %q sockets are not served on io_uring (tcp, tcp4, tcp6 and unix streams are)", network)
}

// notServed says why Listen and Dial leave network to package net: not a
// stream, or io_uring unavailable (Available). nil: io_uring serves it.
func notServed(network string) error {
	if !isStream(network) {
		return errNotStream(network)
	}
	return Available()
}

// listenUring makes the socket with package net (same address parsing,
// dual-stack and SO_REUSEADDR behaviour) and moves it onto rings.
func listenUring(ctx context.Context, s settings, std *net.ListenConfig, network, address string) (net.Listener, error) {
	nl, err := std.Listen(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if ul, ok := nl.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false) // ours removes the file (removeSocketFile)
	}
	return adoptListener(s, nl, "listen", network, true)
}

// FileListener returns a listener on a copy of the listening socket open
// on f, like net.FileListener (for sockets handed over by systemd's socket
// activation or a parent process), serving its conns through io_uring. As
// with package net, closing the listener does not affect f, and a unix
// socket's file is not removed. When io_uring cannot be used, and for
// sockets other than TCP and unix streams ("unixpacket"), it returns
// net.FileListener's listener.
func FileListener(f *os.File) (net.Listener, error) {
	var lc ListenConfig
	return lc.FileListener(f)
}

// FileListener is the package-level FileListener with lc's options
// (Control and KeepAlive aside: the socket exists already).
func (lc *ListenConfig) FileListener(f *os.File) (net.Listener, error) {
	s, err := lc.settings()
	if err != nil {
		return nil, &net.OpError{Op: "file", Net: "file+net", Err: err}
	}
	why := Available()
	if why != nil && lc.Require {
		return nil, &net.OpError{Op: "file", Net: "file+net", Err: why}
	}
	nl, err := net.FileListener(f)
	if err != nil || why != nil {
		return nl, err
	}
	network := nl.Addr().Network()
	if ul, ok := nl.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	if !isStream(network) { // "unixpacket": records, not a stream
		if lc.Require {
			nl.Close()
			return nil, &net.OpError{Op: "file", Net: "file+net", Addr: nl.Addr(), Err: errNotStream(network)}
		}
		return nl, nil
	}
	return adoptListener(s, nl, "file", network, false)
}

// adoptListener takes a blocking duplicate of nl's descriptor for the
// rings, closes nl, and starts the rings. unlink says whether a unix
// listener's socket file is removed on failure and on Close, as package net
// does for the listeners it creates. op names the call in errors.
func adoptListener(s settings, nl net.Listener, op, network string, unlink bool) (net.Listener, error) {
	l := &listener{network: "tcp", addr: nl.Addr(), done: make(chan struct{})}
	if a, ok := l.addr.(*net.UnixAddr); ok && a.Name != "" && a.Name[0] != '@' { // '@': abstract, no file
		l.path = a.Name
	}
	l.unlinkOnClose.Store(unlink)
	l.cond.L = &l.mu
	l.deadlines.condOf = func(*deadline) *sync.Cond { return &l.cond }
	if _, ok := nl.(*net.UnixListener); ok {
		l.network = "unix"
	}
	fd, err := dupListenerFD(nl)
	nl.Close()
	if err != nil {
		l.removeSocketFile()
		return nil, &net.OpError{Op: op, Net: network, Addr: l.addr, Err: err}
	}
	l.fd = fd
	if err := startRings(s, l); err != nil {
		syscall.Close(fd)
		l.removeSocketFile()
		return nil, &net.OpError{Op: op, Net: network, Addr: l.addr, Err: fmt.Errorf("io_uring setup: %w", err)}
	}
	pub := &Listener{l: l, keepAlive: s.keepAlive}
	shareListenerRings(l, true)
	runtime.SetFinalizer(pub, closeDropped)
	return pub, nil
}

// closeDropped is the safety net for a listener dropped without Close: it
// closes the socket but leaves a unix socket's file, as package net's
// does (its descriptor's finalizer closes; only Close unlinks). The socket
// may have been handed on with File.
func closeDropped(ln *Listener) {
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

// startRings creates the listener's rings: the extra ones first, each held
// by the listener until it closes, then the one that accepts.
func startRings(s settings, l *listener) error {
	release := func() {
		for _, held := range l.extra {
			held.submit(request{kind: reqRelease})
		}
	}
	for i := 1; i < s.rings; i++ {
		r, err := newRing(s, request{kind: reqHold})
		if err != nil {
			release()
			return err
		}
		l.extra = append(l.extra, r)
	}
	if _, err := newRing(s, request{kind: reqAddListener, l: l}); err != nil {
		release()
		return err
	}
	return nil
}

// dupListenerFD returns a blocking close-on-exec duplicate of nl's socket.
func dupListenerFD(nl net.Listener) (int, error) {
	sc, ok := nl.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("uringnet: %T has no descriptor", nl)
	}
	return dupFD(sc)
}

// dupCloexec duplicates fd with close-on-exec set.
func dupCloexec(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, os.NewSyscallError("fcntl", e)
	}
	return int(r), nil
}

// dupFD returns a blocking close-on-exec duplicate of a package net socket.
// Blocking matters: io_uring fails ops on O_NONBLOCK files with EAGAIN
// instead of waiting for readiness.
func dupFD(sc syscall.Conn) (int, error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var opErr error
	err = rc.Control(func(s uintptr) {
		if fd, opErr = dupCloexec(int(s)); opErr == nil {
			opErr = syscall.SetNonblock(fd, false)
		}
	})
	if err == nil {
		err = opErr
	}
	if err != nil && fd >= 0 {
		syscall.Close(fd)
		fd = -1
	}
	return fd, err
}

// Listener is a net.Listener whose accepted conns run on io_uring.
type Listener struct {
	l         *listener
	keepAlive time.Duration
}

// Accept waits for and returns the next connection, a *Conn.
func (ln *Listener) Accept() (net.Conn, error) {
	c, err := ln.AcceptUring()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptUring is Accept returning the concrete *Conn.
func (ln *Listener) AcceptUring() (*Conn, error) {
	c, err := ln.l.accept()
	if err != nil {
		return nil, wrapErr("accept", ln.l.network, nil, ln.l.addr, err)
	}
	// The addresses now, not on first use: once the peer resets the conn
	// getpeername fails, and its address would be missing from RemoteAddr
	// and from the errors that report the reset (package net has it from
	// accept itself; the multishot accept returns none).
	c.lookupAddrs()
	pub := newPublicConn(c)
	if !c.unix {
		// As package net does for accepted TCP conns.
		pub.SetNoDelay(true)
		if ln.keepAlive > 0 {
			pub.SetKeepAlive(true)
			pub.SetKeepAlivePeriod(ln.keepAlive)
		}
	}
	runtime.KeepAlive(ln)
	return pub, nil
}

// Close stops accepting; blocked Accept calls return net.ErrClosed. Conns
// already returned by Accept stay open.
func (ln *Listener) Close() error {
	runtime.SetFinalizer(ln, nil)
	shareListenerRings(ln.l, false)
	defer ln.l.removeSocketFile()
	if err := ln.l.close(); err != nil {
		return wrapErr("close", ln.l.network, nil, ln.l.addr, err)
	}
	return nil
}

// SetUnlinkOnClose sets whether Close removes a unix listener's socket
// file, as (*net.UnixListener).SetUnlinkOnClose does. By default it does
// for listeners Listen created, and not for FileListener's. The file goes
// at the first Close only: a later one leaves alone a socket another
// listener has bound at the same path since. No effect on TCP listeners
// and abstract unix addresses ("@name").
func (ln *Listener) SetUnlinkOnClose(unlink bool) { ln.l.unlinkOnClose.Store(unlink) }

// removeSocketFile removes a unix listener's socket file once, if
// unlinkOnClose says to.
func (l *listener) removeSocketFile() {
	l.unlinkOnce.Do(func() {
		if l.path != "" && l.unlinkOnClose.Load() {
			os.Remove(l.path)
		}
	})
}

// Addr returns the listener's address: a *net.TCPAddr or *net.UnixAddr.
func (ln *Listener) Addr() net.Addr { return ln.l.addr }

// SetDeadline sets the deadline for Accept; zero means none. On a closed
// listener it returns net.ErrClosed itself, not wrapped, as package net's
// does.
func (ln *Listener) SetDeadline(t time.Time) error {
	l := ln.l
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	l.dl.set(&l.deadlines, &l.cond, t)
	l.mu.Unlock()
	return nil
}

// Stats returns the counters of the rings serving this listener, summed
// (with the dialed conns that share them: see Dialer).
func (ln *Listener) Stats() Stats {
	var sum Stats
	for _, r := range ln.l.rings() {
		sum.add(r.snapshot())
	}
	return sum
}
