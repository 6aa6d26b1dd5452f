package uringexpvar

import (
	"context"
	"encoding/json"
	"expvar"
	"testing"

	"github.com/uringnet/uringnet/go/uringnet"
)

func TestPublished(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	ln, err := (&uringnet.ListenConfig{Require: true}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	v := expvar.Get("uringnet")
	if v == nil {
		t.Fatal(`expvar "uringnet" not published`)
	}
	var rings []uringnet.Stats
	if err := json.Unmarshal([]byte(v.String()), &rings); err != nil {
		t.Fatalf("%v: %s", err, v.String())
	}
	if len(rings) == 0 || rings[0].Ring == 0 {
		t.Fatalf("no ring in %s", v.String())
	}
}
