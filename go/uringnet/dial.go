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
// then moves to a ring shared by all dialed conns of the process.
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
	c, err := dialRings.adopt(fd, kind)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
	}
	// The dup shares the socket, so the TCP_NODELAY package net set holds.
	return newPublicConn(c), nil
}

// dialRing is the ring dialed conns share. It lives while it has conns;
// the next Dial after it has gone starts a new one.
type dialRing struct {
	mu sync.Mutex // protects r
	r  *ring
}

var dialRings dialRing

// adopt registers fd on the shared ring, starting a ring if there is none.
func (d *dialRing) adopt(fd int, network string) (*conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.r != nil {
		c := newConn(d.r, fd, network)
		if d.r.submit(request{kind: reqAddConn, c: c}) {
			return c, nil
		}
	}
	var lc ListenConfig
	s, _ := lc.settings()
	c := newConn(nil, fd, network)
	r, err := newRing(s, request{kind: reqAddConn, c: c})
	if err != nil {
		return nil, err
	}
	d.r = r
	return c, nil
}
