package uringnet

import (
	"context"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Dialer connects to addresses like net.Dialer and serves the conns through
// io_uring. The zero value is ready to use. Package net makes the connection
// (address resolution, timeouts, happy eyeballs); the established socket
// then moves to a ring: one of an open listener's, when the process has a
// listener with the default ring settings (a proxy's accepted and dialed
// conns then share loops: share.go), else one of the rings all dialed
// conns of the process share (as many as ListenConfig's default Rings).
type Dialer struct {
	// These mean what they mean in net.Dialer: package net makes the
	// connection with them.
	Timeout       time.Duration
	Deadline      time.Time
	LocalAddr     net.Addr
	KeepAlive     time.Duration
	FallbackDelay time.Duration
	Resolver      *net.Resolver
	Control       func(network, address string, c syscall.RawConn) error

	// Require makes Dial fail when io_uring cannot be used, or the network
	// is not one it serves ("udp"), instead of returning a package net
	// conn.
	Require bool

	mptcp mptcpChoice // SetMultipathTCP (mptcp.go)
}

// Dial connects to address on network ("tcp", "tcp4", "tcp6" or "unix").
// Other networks ("udp", "unixgram", ...) get package net's conn or error,
// as net.Dial would give them.
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
	std := net.Dialer{Timeout: d.Timeout, Deadline: d.Deadline, LocalAddr: d.LocalAddr, KeepAlive: d.KeepAlive,
		FallbackDelay: d.FallbackDelay, Resolver: d.Resolver, Control: d.Control}
	d.mptcp.applyTo(std.SetMultipathTCP)
	if why := notServed(network); why != nil {
		if d.Require {
			return nil, &net.OpError{Op: "dial", Net: network, Err: why}
		}
		return std.DialContext(ctx, network, address)
	}
	nc, err := std.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	raddr := nc.RemoteAddr()
	kind := "tcp"
	if network == "unix" {
		kind = "unix"
	}
	// The dup shares the socket, so the TCP_NODELAY package net set holds.
	c, err := moveToRing(nc, kind)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
	}
	return c, nil
}

// moveToRing takes a blocking duplicate of nc's socket, closes nc, and
// registers the duplicate on a ring as a conn of network ("tcp" or "unix").
// The conn keeps nc's addresses: looked up later, the peer's would be
// gone once the peer resets the conn.
func moveToRing(nc net.Conn, network string) (*Conn, error) {
	laddr, raddr := nc.LocalAddr(), nc.RemoteAddr()
	fd, err := dupFD(nc.(syscall.Conn))
	nc.Close()
	if err != nil {
		return nil, err
	}
	c, err := adoptDialed(fd, network)
	if err != nil {
		syscall.Close(fd) // no ring took it
		return nil, err
	}
	if laddr != nil {
		c.laddr, c.raddr = laddr, raddr
	} else {
		c.lookupAddrs()
	}
	return newPublicConn(c), nil
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

// FileConn returns a conn on a copy of the connected socket open on f, like
// net.FileConn (for a conn handed over by systemd's Accept=yes socket
// activation or a parent process), served through io_uring on the rings
// dialed conns use. Closing the conn does not affect f. When io_uring
// cannot be used, and for sockets other than TCP and unix streams (UDP,
// unixgram, unixpacket), it returns net.FileConn's conn.
func FileConn(f *os.File) (net.Conn, error) {
	nc, err := net.FileConn(f)
	if err != nil || Available() != nil {
		return nc, err
	}
	network := nc.LocalAddr().Network()
	if !isStream(network) { // udp, unixgram, unixpacket: not streams
		return nc, nil
	}
	c, err := moveToRing(nc, network)
	if err != nil {
		return nil, &net.OpError{Op: "file", Net: "file+net", Err: err}
	}
	return c, nil
}
