package uringnet

import "sync/atomic"

// fdRef counts the goroutines using a socket's descriptor outside the ring
// (send(2), a sockopt, shutdown, a dup, a SyscallConn Control function), as
// package net's fdMutex does for its descriptors. The ring's loop shuts it
// when it tears the socket down; whoever holds the last reference then
// closes the descriptor. So a socket call never sees its descriptor's
// number reused by another file, the loop never waits for user code, and a
// holder may take another reference (a Control function calling the conn's
// SetNoDelay) with no deadlock.
//
// Its one word holds fdShut and the count of references.
type fdRef struct{ state atomic.Uint64 }

const fdShut = 1 << 63

// acquire takes a reference; false once the descriptor is shut.
func (f *fdRef) acquire() bool {
	for {
		s := f.state.Load()
		if s&fdShut != 0 {
			return false
		}
		if f.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// release drops a reference. True means it was the last one after shut:
// the caller closes the descriptor.
func (f *fdRef) release() bool {
	return f.state.Add(^uint64(0)) == fdShut
}

// shut refuses new references. True means none were held: the caller
// closes the descriptor now; otherwise the last release does.
func (f *fdRef) shut() bool {
	for {
		s := f.state.Load()
		if s&fdShut != 0 {
			return false // shut already: its closer is someone else
		}
		if f.state.CompareAndSwap(s, s|fdShut) {
			return s == 0
		}
	}
}

// closed reports whether the descriptor is shut with no references left:
// closed, or being closed by the one that dropped the last.
func (f *fdRef) closed() bool { return f.state.Load() == fdShut }
