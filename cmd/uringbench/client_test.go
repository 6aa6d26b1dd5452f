package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uringnet/uringnet/cmd/uringbench/loadresult"
)

// The C load generator against small in-process servers (package net: the
// client is under test here, not the servers).

// buildTestCLoad compiles cmd/uringload with one thread; callers set
// threads on the result for more.
func buildTestCLoad(t *testing.T) cLoad {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("SKIP: no C compiler (cc) for cmd/uringload")
	}
	g, err := buildCLoad(t.TempDir(), "../uringload/uringload.c", 1)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// serve accepts on a fresh loopback listener and runs handle per conn.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// runC runs one load and checks its protocol: "start", "stop", then JSON.
func runC(t *testing.T, g cLoad, work, addr string, conns, size, idle int) loadresult.Result {
	t.Helper()
	cmd := g.command(work, addr, conns, size, idle, 50*time.Millisecond, 300*time.Millisecond)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("uringload: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || lines[0] != "start" || lines[1] != "stop" {
		t.Fatalf("uringload printed %q", out)
	}
	var r loadresult.Result
	if err := json.Unmarshal([]byte(lines[2]), &r); err != nil {
		t.Fatalf("result %q: %v", lines[2], err)
	}
	if r.Seconds < 0.25 || r.Seconds > 5 {
		t.Errorf("measured window %.3f s, want about 0.3 s", r.Seconds)
	}
	return r
}

func TestCLoadEcho(t *testing.T) {
	addr := serve(t, func(c net.Conn) { io.Copy(c, c) })
	g := buildTestCLoad(t)
	for _, tc := range []struct{ conns, size, threads, idle int }{
		{1, 64, 1, 0}, {50, 64, 2, 10}, {8, 200 << 10, 1, 0}, // a reply in many reads, a request in many sends
	} {
		g.threads = tc.threads
		r := runC(t, g, "echo", addr, tc.conns, tc.size, tc.idle)
		if r.Ops == 0 || r.Errors != 0 {
			t.Errorf("%+v: %+v, want round trips and no errors", tc, r)
		}
		if r.P50 > r.P99 || r.P99 > r.P999 {
			t.Errorf("%+v: percentiles out of order: %+v", tc, r)
		}
	}
}

// An echo that is not byte for byte what was sent is an error, not a round
// trip.
func TestCLoadEchoChecksBytes(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			buf[10] ^= 1
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	r := runC(t, buildTestCLoad(t), "echo", addr, 4, 64, 0)
	if r.Ops != 0 || r.Errors != 4 {
		t.Errorf("corrupted echoes: %+v, want 0 round trips and 4 errors (one per conn)", r)
	}
}

func TestCLoadHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("hello, world\n", 1000) // a body in several reads
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body))) // not chunked
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	g := buildTestCLoad(t)
	r := runC(t, g, "http", ln.Addr().String(), 20, 0, 0)
	if r.Ops == 0 || r.Errors != 0 {
		t.Errorf("http: %+v, want requests and no errors", r)
	}
	// A response that is not 200 is an error.
	bad := serve(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err == nil {
			io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		}
		io.Copy(io.Discard, br)
	})
	r = runC(t, g, "http", bad, 3, 0, 0)
	if r.Ops != 0 || r.Errors != 3 {
		t.Errorf("404s: %+v, want 0 requests and 3 errors", r)
	}
}
