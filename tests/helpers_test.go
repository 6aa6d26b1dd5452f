package tests

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/uringnet/uringnet/go/uringnet"
)

func uringListener(t *testing.T) net.Listener {
	t.Helper()
	if err := uringnet.Available(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	ln, err := (&uringnet.ListenConfig{Require: true}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// waitGoroutines waits until no goroutine is left beyond base, and reports
// the leftovers if some stay.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left (baseline %d):\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
