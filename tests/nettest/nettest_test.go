// Package nettest_test runs golang.org/x/net/nettest's conformance suite
// for net.Conn implementations on uringnet conns: basic and racy I/O,
// past, present and future deadlines, Close during blocked calls, and every
// method called concurrently. It is its own module so that uringnet itself
// depends on nothing but the standard library.
package nettest_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/uringnet/uringnet/go/uringnet"
	"golang.org/x/net/nettest"
)

// A pipe's c1 is the conn under test (the suite sets its deadlines and
// closes it mid-call); c2 is its peer.
type pipeCase struct {
	name    string
	network string // "tcp" or "unix"
	cfg     uringnet.ListenConfig
	c1      string // "accepted": c1 from the uringnet listener; "dialed": from uringnet.Dial
	peer    string // "std": c2 from package net; "uring": from uringnet
}

func TestConn(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	cases := []pipeCase{
		{name: "tcp/accepted/direct-reads", network: "tcp", c1: "accepted", peer: "std"},
		{name: "tcp/accepted/ring-reads", network: "tcp", cfg: uringnet.ListenConfig{DirectReadConns: -1}, c1: "accepted", peer: "std"},
		{name: "tcp/accepted/no-outbox", network: "tcp", cfg: uringnet.ListenConfig{DirectReadConns: -1, WriteBuffer: -1}, c1: "accepted", peer: "std"},
		{name: "tcp/dialed", network: "tcp", c1: "dialed", peer: "std"},
		{name: "tcp/both-uring", network: "tcp", cfg: uringnet.ListenConfig{DirectReadConns: -1}, c1: "dialed", peer: "uring"},
		{name: "unix/accepted/ring-reads", network: "unix", cfg: uringnet.ListenConfig{DirectReadConns: -1}, c1: "accepted", peer: "std"},
		{name: "unix/dialed", network: "unix", c1: "dialed", peer: "std"},
	}
	for _, pc := range cases {
		pc := pc
		t.Run(pc.name, func(t *testing.T) {
			nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) { return makePipe(t, pc) })
		})
	}
}

// makePipe connects a conn of the kind pc names to a peer.
func makePipe(t *testing.T, pc pipeCase) (c1, c2 net.Conn, stop func(), err error) {
	addr := "127.0.0.1:0"
	if pc.network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	cfg := pc.cfg
	cfg.Require = true
	var ln net.Listener
	if pc.c1 == "accepted" || pc.peer == "uring" {
		ln, err = cfg.Listen(context.Background(), pc.network, addr)
	} else {
		ln, err = net.Listen(pc.network, addr)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	accepted := make(chan net.Conn, 1)
	acceptErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acceptErr <- err
			return
		}
		accepted <- c
	}()
	var dialed net.Conn
	if pc.c1 == "dialed" {
		dialed, err = uringnet.Dial(pc.network, ln.Addr().String())
	} else {
		dialed, err = net.Dial(pc.network, ln.Addr().String())
	}
	if err != nil {
		ln.Close()
		return nil, nil, nil, err
	}
	var acc net.Conn
	select {
	case acc = <-accepted:
	case err = <-acceptErr:
		dialed.Close()
		ln.Close()
		return nil, nil, nil, err
	}
	stop = func() {
		acc.Close()
		dialed.Close()
		ln.Close()
	}
	if pc.c1 == "accepted" {
		return acc, dialed, stop, nil
	}
	return dialed, acc, stop, nil
}
