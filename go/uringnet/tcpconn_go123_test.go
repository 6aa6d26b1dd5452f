//go:build go1.23

package uringnet

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// SetKeepAliveConfig leaves the socket as (*net.TCPConn).SetKeepAliveConfig
// leaves package net's: the same configs, applied in turn to a uringnet
// conn and a net conn, read back the same, defaults and "leave as is"
// included.
func TestSetKeepAliveConfig(t *testing.T) {
	ln := newTestListener(t, nil)
	s, _ := pair(t, ln)
	std, _ := stdPair(t)
	configs := []net.KeepAliveConfig{
		{Enable: true, Idle: 7 * time.Second, Interval: 1500 * time.Millisecond, Count: 4},
		{Enable: true}, // package net's defaults
		{Enable: true, Idle: -1, Interval: 3 * time.Second, Count: -1},
		{Enable: false, Idle: -1, Interval: -1, Count: 2},
	}
	for i, cfg := range configs {
		if err := s.SetKeepAliveConfig(cfg); err != nil {
			t.Fatalf("config %d: %v", i, err)
		}
		if err := std.(*net.TCPConn).SetKeepAliveConfig(cfg); err != nil {
			t.Fatalf("config %d on package net: %v", i, err)
		}
		got, want := keepAliveOpts(t, s), keepAliveOpts(t, std.(*net.TCPConn))
		if got != want {
			t.Fatalf("config %+v: socket has %v, package net's has %v", cfg, got, want)
		}
	}
	s.Close()
	checkOpError(t, s.SetKeepAliveConfig(configs[0]), "set", net.ErrClosed)
}

// keepAliveOpts reads SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and
// TCP_KEEPCNT from c's socket.
func keepAliveOpts(t *testing.T, c syscall.Conn) [4]int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v [4]int
	rc.Control(func(fd uintptr) {
		for i, o := range [][2]int{{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE}, {syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL}, {syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT}} {
			if v[i], err = syscall.GetsockoptInt(int(fd), o[0], o[1]); err != nil {
				t.Error(err)
			}
		}
	})
	return v
}
