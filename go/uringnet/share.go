package uringnet

import "sync"

// Ring sharing: dialed conns ride the rings of the oldest open listener
// with the same ring settings, so that one set of loops serves a proxy's
// two sides. With rings of their own the two sides ran a loop thread each
// and every message crossed both. examples/proxy at 100 conns (2 cores,
// tests/bench/proxy.sh, medians of 5): sharing cost 0.66x the CPU per
// round trip of a ring per side (64 B and 4 KiB), 0.53-0.57x package
// net's; alike at 1,000 conns.
//
// Listeners keep rings of their own. Two echo listeners sharing one ring
// cost 0.68x the CPU per round trip of a ring each at 50 busy conns per
// listener, but 1.12x at 500, with 0.90x the round trips: under heavy load
// the two loop threads do the kernel's TCP work in parallel
// (tests/bench/README.md).
//
// "The same ring settings" is settings up to the count of rings and the
// accepted conns' keep-alive, which do not shape a ring: a conn's
// WriteBuffer, buffer pool and tuning come from its ring's settings, so a
// listener with other options is not shared.

// sharedRings lists the open listeners, oldest first, whose rings dialed
// conns may ride. listenUring adds a listener, Listener.Close removes it.
var sharedRings struct {
	sync.Mutex // protects ls and nextDial
	ls         []*listener
	nextDial   int // round robin over a listener's rings for dialed conns
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

// sharedListener returns the oldest open listener whose rings were made
// with settings like s, or nil. sharedRings is locked.
func sharedListener(s settings) *listener {
	for _, l := range sharedRings.ls {
		if sameRingSettings(l.r.cfg, s) {
			return l
		}
	}
	return nil
}

// sameRingSettings says whether conns made under a and b may share a ring.
func sameRingSettings(a, b settings) bool {
	a.rings, b.rings = 0, 0
	a.keepAlive, b.keepAlive = 0, 0
	return a == b
}

// adoptDialed registers a dialed socket on a ring: an open listener's if
// one has the default ring settings, else a dial ring.
func adoptDialed(fd int, network string) (*conn, error) {
	var lc ListenConfig
	s, _ := lc.settings()
	if c := adoptOnListenerRing(s, fd, network); c != nil {
		return c, nil
	}
	return dialRings.adopt(s, fd, network)
}

// adoptOnListenerRing registers fd on the next ring of the shared listener
// for settings s. It returns nil when there is none, or when that ring has
// just retired (its listener closed meanwhile).
func adoptOnListenerRing(s settings, fd int, network string) *conn {
	sharedRings.Lock()
	defer sharedRings.Unlock()
	l := sharedListener(s)
	if l == nil {
		return nil
	}
	rs := l.rings()
	r := rs[sharedRings.nextDial%len(rs)]
	sharedRings.nextDial++
	c := newConn(r, fd, network)
	if !r.submit(request{kind: reqAddConn, c: c}) {
		return nil
	}
	return c
}
