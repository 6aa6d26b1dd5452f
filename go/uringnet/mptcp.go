package uringnet

import (
	"net"
	"syscall"
)

// Multipath TCP. Package net makes the sockets, so a listener or a dialed
// conn is MPTCP exactly when net's would be: for a listener, by default
// from Go 1.24 on (unless the main module's go line is older, or
// GODEBUG=multipathtcp says otherwise); for a dialer, when asked. A conn
// accepted from an MPTCP listener is an MPTCP socket when its client asked
// for MPTCP, and plain TCP otherwise. The ring serves both alike.

// mptcpChoice is SetMultipathTCP's setting: 0 leaves package net's default.
type mptcpChoice int8

func (m mptcpChoice) set(use bool) mptcpChoice {
	if use {
		return 1
	}
	return -1
}

// or is the choice, or def (package net's default) when none was made.
func (m mptcpChoice) or(def func() bool) bool {
	if m != 0 {
		return m > 0
	}
	return def()
}

// applyTo passes a choice made on to package net's SetMultipathTCP.
func (m mptcpChoice) applyTo(setMultipathTCP func(bool)) {
	if m != 0 {
		setMultipathTCP(m > 0)
	}
}

// SetMultipathTCP directs Listen to use, or not use, MPTCP where the system
// supports it, as net.ListenConfig's SetMultipathTCP does; it overrides the
// default and GODEBUG=multipathtcp.
func (lc *ListenConfig) SetMultipathTCP(use bool) { lc.mptcp = lc.mptcp.set(use) }

// MultipathTCP reports whether Listen will try MPTCP, as
// net.ListenConfig's MultipathTCP does.
func (lc *ListenConfig) MultipathTCP() bool { return lc.mptcp.or(new(net.ListenConfig).MultipathTCP) }

// SetMultipathTCP directs Dial to use, or not use, MPTCP where the system
// and the peer support it, as net.Dialer's SetMultipathTCP does.
func (d *Dialer) SetMultipathTCP(use bool) { d.mptcp = d.mptcp.set(use) }

// MultipathTCP reports whether Dial will try MPTCP, as net.Dialer's
// MultipathTCP does.
func (d *Dialer) MultipathTCP() bool { return d.mptcp.or(new(net.Dialer).MultipathTCP) }

const (
	solMPTCP  = 0x11c // SOL_MPTCP
	mptcpInfo = 0x1   // MPTCP_INFO
)

// MultipathTCP reports whether the conn is using MPTCP, as
// (*net.TCPConn).MultipathTCP does: false for a plain TCP socket and for
// an MPTCP socket that fell back to TCP (the peer or a middlebox did not
// take part), which the kernel reports by refusing MPTCP_INFO.
func (pc *Conn) MultipathTCP() (bool, error) {
	using := false
	err := pc.withFD("get", func(fd int) error {
		_, err := syscall.GetsockoptInt(fd, solMPTCP, mptcpInfo)
		using = err == nil
		return nil
	})
	return using, err
}
