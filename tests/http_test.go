package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uringnet/uringnet/go/uringnet"
)

// 10,000 keep-alive requests from 50 concurrent clients, every body checked,
// then a clean Shutdown with no goroutine left behind.
func TestHTTPServerKeepAlive(t *testing.T) {
	base := runtime.NumGoroutine()
	ln := uringListener(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Query().Get("n"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	srv := &http.Server{Handler: mux, ReadTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	tr := &http.Transport{MaxIdleConnsPerHost: 50, MaxConnsPerHost: 50}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := "http://" + ln.Addr().String()
	const clients, perClient = 50, 200
	eachClient(t, clients, func(c int) error {
		for i := 0; i < perClient; i++ {
			n := fmt.Sprint(c*perClient + i)
			resp, err := client.Get(url + "/?n=" + n)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != "hello "+n {
				return fmt.Errorf("request %s: body %q, %v", n, body, err)
			}
		}
		return nil
	})
	tr.CloseIdleConnections()

	shutdownClean(t, srv, served, base)
}

// A request body larger than one receive buffer, echoed back.
func TestHTTPLargeBody(t *testing.T) {
	ln := uringListener(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })}
	go srv.Serve(ln)
	defer srv.Close()
	body := make([]byte, 3<<20)
	for i := range body {
		body[i] = byte(i * 7)
	}
	resp, err := http.Post("http://"+ln.Addr().String(), "application/octet-stream", bytesReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(got) != len(body) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	for i := range got {
		if got[i] != body[i] {
			t.Fatalf("byte %d differs", i)
		}
	}
}

// net/http's client on io_uring too: an http.Transport dialing with
// uringnet's Dialer, against a uringnet server. Bodies of up to 160 KiB
// (past WriteBuffer: large Writes) are echoed and checked; every 7th
// response closes its conn ("Connection: close"), so the Transport also
// sees its pooled conns end (EOF on a uringnet conn) and dials again.
func TestHTTPClientOnUring(t *testing.T) {
	base := runtime.NumGoroutine()
	ln := uringListener(t)
	var reqs atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body) // all of it before the reply, as net/http asks
		if err != nil {
			return
		}
		if reqs.Add(1)%7 == 0 {
			w.Header().Set("Connection", "close")
		}
		w.Write(body)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	dialer := &uringnet.Dialer{Require: true, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 20}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := "http://" + ln.Addr().String() + "/"
	const clients, perClient = 20, 40
	eachClient(t, clients, func(c int) error {
		rng := rand.New(rand.NewSource(int64(c)))
		for i := 0; i < perClient; i++ {
			body := make([]byte, rng.Intn(160<<10))
			rng.Read(body)
			resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("client %d request %d: %w", c, i, err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				return fmt.Errorf("client %d request %d: %d bytes back of %d, %v", c, i, len(got), len(body), err)
			}
		}
		return nil
	})
	if n := reqs.Load(); n != clients*perClient {
		t.Fatalf("server saw %d requests, want %d", n, clients*perClient)
	}
	tr.CloseIdleConnections()
	shutdownClean(t, srv, served, base)
}

// eachClient runs client(c) for c from 0 to n-1, each on a goroutine of
// its own, and fails the test with the errors they return.
func eachClient(t *testing.T, n int, client func(c int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			if err := client(c); err != nil {
				errs <- err
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// shutdownClean shuts srv down (Serve's result arrives on served) and
// checks that Serve returned ErrServerClosed and no goroutine beyond base
// is left.
func shutdownClean(t *testing.T, srv *http.Server, served <-chan error, base int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("Serve returned %v", err)
	}
	waitGoroutines(t, base)
}

// Hijacked conns (WebSocket servers, CONNECT proxies) are the listener's own
// conns, handed over with what the server had read ahead: Hijack stops the
// server's background read with a read deadline in the past, which must
// wake that parked Read. 20 clients each upgrade, send bytes in the same
// packet as the request, and echo through the hijacked conn.
func TestHTTPHijack(t *testing.T) {
	base := runtime.NumGoroutine()
	ln := uringListener(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/upgrade", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		if _, ok := conn.(*uringnet.Conn); !ok {
			t.Errorf("hijacked conn is a %T, want *uringnet.Conn", conn)
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		if err := brw.Flush(); err != nil {
			t.Errorf("101: %v", err)
			return
		}
		// brw.Reader holds the bytes the server read ahead.
		if _, err := io.Copy(conn, brw.Reader); err != nil {
			t.Errorf("echo on the hijacked conn: %v", err)
		}
	})
	srv := &http.Server{Handler: mux, ReadTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	eachClient(t, 20, func(c int) error {
		conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		early := fmt.Sprintf("early %d;", c)
		req := "GET /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n" + early
		if _, err := io.WriteString(conn, req); err != nil {
			return err
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return fmt.Errorf("reading the 101: %v", err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			return fmt.Errorf("status %d, want 101", resp.StatusCode)
		}
		want := early
		for i := 0; i < 20; i++ {
			msg := fmt.Sprintf("message %d of %d;", i, c)
			if _, err := io.WriteString(conn, msg); err != nil {
				return err
			}
			want += msg
		}
		conn.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(br)
		if err != nil || string(got) != want {
			return fmt.Errorf("echoed %q, %v; want %q", got, err, want)
		}
		return nil
	})
	shutdownClean(t, srv, served, base)
}
