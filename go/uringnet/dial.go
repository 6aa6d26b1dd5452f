package uringnet

import (
	"context"
	"net"
	"sync"
	"syscall"
	"time"
)

// Dialer connects to addresses like net.Dialer and serves the conns through
// io_uring. The zero value is ready to use. Package net makes the connection
// (address resolution, timeouts, happy eyeballs); the established socket
// then moves to a ring: one of an open listener's, when the process has a
// listener with the default ring settings (a proxy's accepted and dialed
// conns then share loops), else one of the rings all dialed conns of the
// process share (as many as ListenConfig's default Rings).
type Dialer struct {
	// Timeout, LocalAddr and KeepAlive mean what they mean in net.Dialer.
	Timeout   time.Duration
	LocalAddr net.Addr
	KeepAlive time.Duration

	// Require makes Dial fail when io_uring cannot be used, instead of
	// returning a package net conn.
	Require bool
}

// Dial connects to address on network ("tcp", "tcp4", "tcp6" or "unix").
func Dial(network, address string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(context.Background(), network, address)
}

// Dial connects to address on network.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on network; ctx bounds the connect.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	std := net.Dialer{Timeout: d.Timeout, LocalAddr: d.LocalAddr, KeepAlive: d.KeepAlive}
	if why := Available(); why != nil {
		if d.Require {
			return nil, &net.OpError{Op: "dial", Net: network, Err: why}
		}
		return std.DialContext(ctx, network, address)
	}
	nc, err := std.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	fd, err := dupFD(nc.(syscall.Conn))
	raddr := nc.RemoteAddr()
	nc.Close()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
	}
	kind := "tcp"
	if network == "unix" {
		kind = "unix"
	}
	c, err := adoptDialed(fd, kind)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
	}
	// The dup shares the socket, so the TCP_NODELAY package net set holds.
	return newPublicConn(c), nil
}

// adoptDialed registers a dialed socket on a ring: an open listener's if
// one has the default ring settings, else a dial ring.
//
// Why share: with a ring of their own, a proxy's two sides ran two loop
// threads for one flow of data, and every message crossed both.
// examples/proxy at 100 conns (2 cores, tests/bench/proxy.sh, medians of
// 5): 0.66x the proxy's CPU per round trip of separate rings (64 B and
// 4 KiB), 0.53-0.57x package net's; alike at 1,000 conns.
func adoptDialed(fd int, network string) (*conn, error) {
	var lc ListenConfig
	s, _ := lc.settings()
	if c := adoptOnListenerRing(s, fd, network); c != nil {
		return c, nil
	}
	return dialRings.adopt(s, fd, network)
}

// sharedRings lists the open listeners, oldest first, whose rings dialed
// conns may ride. listenUring adds a listener, Listener.Close removes it.
var sharedRings struct {
	sync.Mutex // protects ls and next
	ls         []*listener
	next       int // round robin over the chosen listener's rings
}

func shareListenerRings(l *listener, open bool) {
	sharedRings.Lock()
	defer sharedRings.Unlock()
	for i, o := range sharedRings.ls {
		if o == l {
			sharedRings.ls = append(sharedRings.ls[:i], sharedRings.ls[i+1:]...)
			break
		}
	}
	if open {
		sharedRings.ls = append(sharedRings.ls, l)
	}
}

// adoptOnListenerRing registers fd on a ring of the oldest open listener
// whose rings were made with settings s (up to the count of rings and the
// accepted conns' keep-alive, which do not shape a ring). It returns nil
// when there is none, or when that ring has just retired (its listener
// closed meanwhile).
func adoptOnListenerRing(s settings, fd int, network string) *conn {
	sharedRings.Lock()
	defer sharedRings.Unlock()
	for _, l := range sharedRings.ls {
		if !sameRingSettings(l.r.cfg, s) {
			continue
		}
		rs := l.rings()
		r := rs[sharedRings.next%len(rs)]
		sharedRings.next++
		c := newConn(r, fd, network)
		if r.submit(request{kind: reqAddConn, c: c}) {
			return c
		}
		return nil
	}
	return nil
}

// sameRingSettings says whether conns made under a and b may share a ring.
func sameRingSettings(a, b settings) bool {
	a.rings, b.rings = 0, 0
	a.keepAlive, b.keepAlive = 0, 0
	return a == b
}

// dialRingSet is the rings dialed conns share: as many as a listener's
// default (defaultRings), conns spread over them round robin. Each lives
// while it has conns; the next Dial that comes to a gone ring's place starts
// a new one.
type dialRingSet struct {
	mu   sync.Mutex // protects rs and next
	rs   []*ring    // nil, or a ring that may have retired since
	next int        // index into rs for the next conn
}

var dialRings dialRingSet

// adopt registers fd on the next dial ring, starting one there if it has
// none or its ring has retired.
func (d *dialRingSet) adopt(s settings, fd int, network string) (*conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.rs) != s.rings { // GOMAXPROCS changed (or the first Dial)
		rs := make([]*ring, s.rings)
		copy(rs, d.rs)
		d.rs = rs
	}
	i := d.next % len(d.rs)
	d.next = i + 1
	if r := d.rs[i]; r != nil {
		c := newConn(r, fd, network)
		if r.submit(request{kind: reqAddConn, c: c}) {
			return c, nil
		}
	}
	c := newConn(nil, fd, network)
	r, err := newRing(s, request{kind: reqAddConn, c: c})
	if err != nil {
		return nil, err
	}
	d.rs[i] = r
	return c, nil
}
