package uringnet

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestFDRefSequence(t *testing.T) {
	var f fdRef
	if !f.acquire() || !f.acquire() {
		t.Fatal("acquire on an open descriptor failed")
	}
	if f.shut() {
		t.Fatal("shut with two references held says close now")
	}
	if f.acquire() {
		t.Fatal("acquire after shut succeeded")
	}
	if f.shut() {
		t.Fatal("a second shut says close")
	}
	if f.release() || f.closed() {
		t.Fatal("the first of two releases after shut says close")
	}
	if !f.release() || !f.closed() {
		t.Fatal("the last release after shut does not say close")
	}
	var g fdRef
	if !g.shut() || !g.closed() {
		t.Fatal("shut with no references does not say close now")
	}
}

// However acquires, releases and the shut interleave, exactly one of them
// is told to close, and only once no reference is held.
func TestFDRefClosesOnce(t *testing.T) {
	for round := 0; round < 200; round++ {
		var f fdRef
		var closes, held atomic.Int32
		closeIt := func() {
			if held.Load() != 0 {
				t.Error("told to close while references are held")
			}
			closes.Add(1)
		}
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					if !f.acquire() {
						return
					}
					held.Add(1)
					held.Add(-1)
					if f.release() {
						closeIt()
					}
				}
			}()
		}
		if f.shut() {
			closeIt()
		}
		wg.Wait()
		if n := closes.Load(); n != 1 {
			t.Fatalf("round %d: told to close %d times, want 1", round, n)
		}
	}
}
