package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The Go load generator's conns: "https" ones are TLS, handshaken as they
// are dialed, and carry keep-alive GETs that httpReader reads back.

func TestDialLoadHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello over "+r.Proto)
	}))
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")

	c, err := dialLoad(addr, "https")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	hr := &httpReader{r: bufio.NewReader(c)}
	for i := 0; i < 3; i++ { // keep-alive: the same conn each time
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if err := hr.readResponse(); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
	}
}

func TestDialLoadHTTPSFailsOnPlainServer(t *testing.T) {
	// A server that answers in plain text: the handshake must fail, not hang.
	addr := serve(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
	})
	done := make(chan error, 1)
	go func() {
		c, err := dialLoad(addr, "https")
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("TLS handshake with a plain-text server succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dialLoad still running after 30 s")
	}
}

func TestDialLoadHTTPIsPlain(t *testing.T) {
	addr := serve(t, func(c net.Conn) { io.WriteString(c, "x") })
	c, err := dialLoad(addr, "http")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.TCPConn); !ok {
		t.Fatalf("dialLoad(http) gave a %T, want *net.TCPConn", c)
	}
}
