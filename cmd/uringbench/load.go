package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uringnet/uringnet/cmd/uringbench/loadresult"
)

// runLoad is the load generator: conns connections, each a closed loop of
// one request and its whole reply. For work "echo" the request is size
// bytes and the reply their echo; for "http" it is a keep-alive GET / and
// the reply an HTTP/1.1 response read to the end of its body; "https" is
// "http" over TLS, each conn's handshake done as it is dialed. It runs in its
// own process (package net's epoll poller, many goroutines), dials every
// conn, warms up for warm, then measures for dur. It prints "start" and
// "stop" around the measured window (the parent samples the server's CPU
// there) and then a loadresult.Result. idle more conns are dialed first and held
// open, silent, until the end.
func runLoad(addr, work string, conns, size, idle int, warm, dur time.Duration) {
	var measuring atomic.Bool
	var stop atomic.Bool
	var errs atomic.Int64
	lat := make([][]uint32, conns) // µs per round trip, per conn
	var wg sync.WaitGroup
	msg := make([]byte, size)
	isHTTP := work == "http" || work == "https"
	if isHTTP {
		msg = []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
	}
	// Dial every conn first (a few dialers at a time, so the server's
	// accept backlog does not overflow into SYN retransmits), then start
	// the loops together.
	cs := make([]net.Conn, idle+conns)
	var dials sync.WaitGroup
	next := atomic.Int64{}
	for d := 0; d < 16; d++ {
		dials.Add(1)
		go func() {
			defer dials.Done()
			for i := int(next.Add(1) - 1); i < len(cs); i = int(next.Add(1) - 1) {
				c, err := dialLoad(addr, work)
				if err != nil {
					errs.Add(1)
					continue
				}
				cs[i] = c
			}
		}()
	}
	dials.Wait()
	for _, c := range cs[:idle] {
		if c != nil {
			defer c.Close()
		}
	}
	cs = cs[idle:]
	for i, c := range cs {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			defer c.Close()
			buf := make([]byte, size)
			var hr *httpReader
			if isHTTP {
				hr = &httpReader{r: bufio.NewReaderSize(c, 4096)}
			}
			for !stop.Load() {
				t0 := time.Now()
				_, err := c.Write(msg)
				switch {
				case err != nil:
				case hr != nil:
					err = hr.readResponse()
				default:
					_, err = io.ReadFull(c, buf)
				}
				if err != nil {
					if !stop.Load() { // after stop, deadlines end the last round trip
						errs.Add(1)
					}
					return
				}
				if measuring.Load() {
					lat[i] = append(lat[i], uint32(time.Since(t0).Microseconds()))
				}
			}
		}(i, c)
	}
	elapsed := loadresult.Window(os.Stdout, warm, dur, &measuring)
	stop.Store(true)
	// A reply that never comes must not hang the run: it shows as an error.
	for _, c := range cs {
		if c != nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
		}
	}
	wg.Wait()
	loadresult.Write(os.Stdout, lat, elapsed, errs.Load())
}

// dialLoad dials one conn of the load. For "https" it also runs the TLS
// handshake, asking for HTTP/1.1, so that handshakes stay out of the
// measured window. The server's certificate is not checked: the servers
// measured are examples/tls with its self-signed one, on loopback.
func dialLoad(addr, work string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil || work != "https" {
		return c, err
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return tc, nil
}

// httpReader reads HTTP/1.1 responses off a keep-alive conn: the status
// line and headers, then Content-Length bytes of body. It is enough for
// examples/http (no chunked bodies) and costs the client little.
type httpReader struct {
	r *bufio.Reader
}

var errBadResponse = errors.New("malformed HTTP response")

func (h *httpReader) readResponse() error {
	status, err := h.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("%w: %q", errBadResponse, status)
	}
	length := -1
	for {
		line, err := h.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return fmt.Errorf("%w: %q", errBadResponse, line)
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("%w: no Content-Length", errBadResponse)
	}
	_, err = h.r.Discard(length)
	return err
}
