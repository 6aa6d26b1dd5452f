//go:build race

package uringnet

import "sync/atomic"

// raceIO gives the race detector the happens-before edge that a socket
// carries from a Write to the Read that returns its bytes. Ring-mode Reads
// get it through the loop goroutine's locks; a direct Read (direct.go)
// touches nothing the writer touched, and gRPC's own tests then report a
// race on state its writer sets before a ping and its reader reads after
// the ack. Package net annotates its reads and writes the same way
// (package syscall's ioSync). Race builds only: elsewhere this would be
// one shared cache line written by every Write.
var raceIO atomic.Uint64

func raceReleaseIO() { raceIO.Add(1) }
func raceAcquireIO() { raceIO.Load() }
