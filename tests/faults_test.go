package tests

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startHTTP serves a hello handler (and /body, which reads the whole body)
// on a uringnet listener with server-side timeouts.
func startHTTP(t *testing.T) (addr string) {
	ln := uringListener(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	mux.HandleFunc("/body", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d %v", n, err)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 300 * time.Millisecond,
		ReadTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// stillServes checks that a normal request gets its answer.
func stillServes(t *testing.T, addr string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("server stopped serving: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello" {
		t.Fatalf("got %q", b)
	}
}

// Slowloris: conns that send nothing or half a header are closed by the
// server's own deadlines, and others are served meanwhile.
func TestSlowlorisFreedByDeadlines(t *testing.T) {
	addr := startHTTP(t)
	var conns []net.Conn
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%2 == 1 {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n") // never finished
		}
		conns = append(conns, c)
	}
	stillServes(t, addr)
	start := time.Now()
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, c) // until the server closes it
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("conn %d still open after %v", i, time.Since(start))
		}
	}
	stillServes(t, addr)
}

func TestGarbageToHTTP(t *testing.T) {
	addr := startHTTP(t)
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, 1+i*997)
		rand.Read(junk)
		c.Write(junk)
		c.Write([]byte("\r\n\r\n"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := io.ReadAll(c)
		c.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("garbage conn %d: server neither answered nor closed", i)
		}
		if len(resp) > 0 && !strings.HasPrefix(string(resp), "HTTP/1.1 4") {
			t.Fatalf("garbage conn %d: answer %q", i, resp)
		}
	}
	stillServes(t, addr)
}

// A client that resets mid-body: the handler sees an error, the server goes on.
func TestResetMidRequest(t *testing.T) {
	addr := startHTTP(t)
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
		c.Write(make([]byte, 10000*(i+1)))
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	stillServes(t, addr)
}

// The client sends a whole request and half-closes: the answer still arrives.
func TestHalfClosedClient(t *testing.T) {
	addr := startHTTP(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello" {
		t.Fatalf("got %q", b)
	}
}
