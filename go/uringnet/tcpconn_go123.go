//go:build go1.23

package uringnet

import (
	"net"
	"syscall"
	"time"
)

// SetKeepAliveConfig configures keep-alive probes as
// (*net.TCPConn).SetKeepAliveConfig does (Go 1.23 and later; the module
// itself needs only 1.22): Enable turns them on or off; a zero Idle,
// Interval or Count takes package net's default (15 s, 15 s, 9), a
// negative one leaves the socket's setting as it is.
func (pc *Conn) SetKeepAliveConfig(config net.KeepAliveConfig) error {
	return pc.withFD("set", func(fd int) error {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, boolInt(config.Enable)); err != nil {
			return sockErr("setsockopt", err)
		}
		for _, o := range [...][2]int{
			{syscall.TCP_KEEPIDLE, keepAliveSecs(config.Idle)},
			{syscall.TCP_KEEPINTVL, keepAliveSecs(config.Interval)},
			{syscall.TCP_KEEPCNT, keepAliveCount(config.Count)},
		} {
			if o[1] < 0 {
				continue // leave as is
			}
			if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, o[0], o[1]); err != nil {
				return sockErr("setsockopt", err)
			}
		}
		return nil
	})
}

// keepAliveSecs is d in whole seconds, rounded up; 0 is package net's
// default of 15 s, and negative is -1 (leave as is).
func keepAliveSecs(d time.Duration) int {
	switch {
	case d < 0:
		return -1
	case d == 0:
		d = 15 * time.Second
	}
	return int((d + time.Second - 1) / time.Second)
}

// keepAliveCount is n, package net's default of 9 for 0, or -1 (leave as
// is) for a negative n.
func keepAliveCount(n int) int {
	switch {
	case n < 0:
		return -1
	case n == 0:
		return 9
	}
	return n
}
