package uringnet

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uringnet/uringnet/go/internal/shim"
)

// Connections opened and closed for a while: fds, goroutines, rings and RSS
// come back to where they started.
func TestChurnReleasesEverything(t *testing.T) {
	requireUring(t)
	dur := time.Duration(scale(5, 60)) * time.Second
	loneKickFD() // the lone waits' eventfd is made once for the process, not per conn
	baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
	runtime.GC()
	debug.FreeOSMemory()
	baseRSS := rssKB(t)

	// A conn costs up to three descriptors here: the client's, the
	// server's and its direct reader's dup.
	batch := connsThatFit(t, 500, 3)
	ln, err := (&ListenConfig{Require: true}).Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // closed below too; this one is for the early returns
	go serveEcho(ln)
	addr := ln.Addr().String()
	total, rssMid := 0, 0
	for start := time.Now(); time.Since(start) < dur; {
		var wg sync.WaitGroup
		for i := 0; i < batch; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.Write([]byte("churn"))
				if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		total += batch
		if rssMid == 0 && total >= 5000 {
			runtime.GC()
			rssMid = rssKB(t)
		}
	}
	ln.Close()
	waitFor(t, 10*time.Second, "rings released", func() bool { return shim.LiveRings() == 0 })
	waitFor(t, 10*time.Second, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= baseG })
	waitFor(t, 10*time.Second, "fds back to baseline", func() bool { return openFDs(t) <= baseFD })
	runtime.GC()
	debug.FreeOSMemory()
	endRSS := rssKB(t)
	t.Logf("%d conns opened and closed in %v; RSS %d KiB at start, %d KiB after 5000 conns, %d KiB at end",
		total, dur, baseRSS, rssMid, endRSS)
	if raceEnabled {
		t.Log("RSS not checked under -race (shadow memory grows with goroutines)")
	} else if rssMid > 0 && endRSS > rssMid+32<<10 {
		t.Fatalf("RSS grew from %d KiB to %d KiB while churning", rssMid, endRSS)
	}
}

// Listeners opened and closed leave no threads behind: a ring's loop ends
// its locked thread when it returns. In a child process, so that idle
// threads from other tests do not hide a leftover one.
func TestClosedRingsEndTheirThreads(t *testing.T) {
	requireUring(t)
	if !inChild(t, "threads") {
		return
	}
	const listeners = 20
	base := procStatus(t, "Threads:")
	var lns []*Listener
	for i := 0; i < listeners; i++ {
		lns = append(lns, newTestListener(t, &ListenConfig{Rings: 1}))
	}
	open := procStatus(t, "Threads:")
	for _, ln := range lns {
		ln.Close()
	}
	waitFor(t, 10*time.Second, "rings released", func() bool { return shim.LiveRings() == 0 })
	// Go keeps its own idle threads; the loops' are gone (with them kept,
	// the count stayed at base + listeners).
	waitFor(t, 10*time.Second, "threads back to baseline", func() bool { return procStatus(t, "Threads:") <= base+4 })
	fmt.Printf("child: threads %d before, %d with %d listeners, %d after Close\n", base, open, listeners, procStatus(t, "Threads:"))
}

func rssKB(t *testing.T) int { return procStatus(t, "VmRSS:") }

// procStatus returns a number field of /proc/self/status, such as "VmRSS:".
func procStatus(t *testing.T, field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("SKIP: no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
