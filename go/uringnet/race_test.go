package uringnet

import (
	"io"
	"math/rand"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Close races Read, Write and deadline changes from many goroutines, at
// random moments. Every call must return, and the loop must never see a CQE
// it cannot place or count twice.
func TestCloseRacesRandomized(t *testing.T) {
	ln := newTestListener(t, &ListenConfig{BufferCount: 64})
	iters := scale(150, 3000)
	for i := 0; i < iters; i++ {
		rng := rand.New(rand.NewSource(int64(i)))
		s, c := pair(t, ln)
		go io.Copy(c, c)
		var wg sync.WaitGroup
		for g := 0; g < 2+rng.Intn(4); g++ {
			wg.Add(1)
			kind, seed := rng.Intn(3), rng.Int63()
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewSource(seed))
				buf := make([]byte, 1+r.Intn(64<<10))
				for j := 0; j < 1000; j++ {
					var err error
					switch kind {
					case 0:
						_, err = s.Read(buf)
					case 1:
						var n int
						n, err = s.Write(buf)
						if n < 0 || n > len(buf) || (err == nil && n != len(buf)) {
							t.Errorf("Write returned %d of %d bytes, err %v", n, len(buf), err)
							return
						}
					case 2:
						switch r.Intn(3) {
						case 0:
							err = s.SetDeadline(time.Now().Add(-time.Second))
						case 1:
							err = s.SetDeadline(time.Now().Add(time.Duration(r.Intn(1000)) * time.Microsecond))
						case 2:
							err = s.SetDeadline(time.Time{})
						}
						runtime.Gosched()
					}
					if err != nil && isClosedErr(err) {
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(rng.Intn(2000)) * time.Microsecond)
		s.Close()
		within(t, 20*time.Second, "ops racing Close", wg.Wait)
		c.Close()
	}
	if n := ln.l.r.extra.stray.Load(); n != 0 {
		t.Fatalf("%d stray or doubly counted CQEs", n)
	}
	expectChunksBack(t, ln)
	t.Logf("%d randomized close races; ring %+v", iters, ln.Stats())
}

func isClosedErr(err error) bool {
	return err != nil && (err == io.EOF || containsClosed(err))
}

func containsClosed(err error) bool {
	for e := err; e != nil; {
		if e.Error() == "use of closed network connection" {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}
