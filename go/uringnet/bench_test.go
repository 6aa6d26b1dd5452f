package uringnet

import (
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// Each benchmark runs the same code on a uringnet listener ("uring") and a
// package net listener ("std") in one run; compare with benchstat.

func benchListener(b *testing.B, mode string) net.Listener {
	b.Helper()
	var ln net.Listener
	var err error
	if mode == "std" {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	} else {
		requireUring(b)
		ln, err = (&ListenConfig{Require: true}).Listen(bg, "tcp", "127.0.0.1:0")
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return ln
}

var modes = []string{"uring", "std"}

// processCPU is this process's user and system CPU time so far: client and
// server together, since both run here. The client is the same code in
// every mode, so the difference between modes is the server's.
func processCPU() time.Duration { return time.Duration(processCPUTime()) }

// reportCPUPerByte reports the process's CPU nanoseconds per byte moved
// since cpu0 (a processCPU reading).
func reportCPUPerByte(b *testing.B, cpu0 time.Duration, bytes int64) {
	b.ReportMetric(float64(processCPU()-cpu0)/float64(bytes), "cpu-ns/B")
}

// Echo round trips of 64 bytes, one conn per parallel client goroutine.
func BenchmarkEcho64(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			ln := benchListener(b, mode)
			go serveEcho(ln)
			b.SetBytes(64)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				msg := make([]byte, 64)
				for pb.Next() {
					if _, err := c.Write(msg); err != nil {
						b.Error(err)
						return
					}
					if _, err := io.ReadFull(c, msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
		})
	}
}

// Echo round trips of 64 bytes over one conn whose client is a goroutine
// of this process, as in a service's own tests. The conn is the ring's one
// busy conn: its Reads would wait lone (lone.go), and loneTrial has to find
// that the netpoller, which runs both ends on one thread, costs less.
func BenchmarkEchoInProcess1Conn(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			ln := benchListener(b, mode)
			go serveEcho(ln)
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg := make([]byte, 64)
			b.SetBytes(64)
			b.ResetTimer()
			start, cpu0 := time.Now(), processCPU()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// Bulk transfer: the server writes 1 MiB chunks, the client discards.
func BenchmarkBulkWrite(b *testing.B) { benchStream(b, 1<<20) }

// A stream of small Writes (128 bytes each, as a logger or a chatty
// protocol makes them), the client discarding: the outbox takes them while
// its sends are in flight.
func BenchmarkStreamSmallWrites(b *testing.B) { benchStream(b, 128) }

// benchStream has the server write b.N chunks of size bytes to one conn.
func benchStream(b *testing.B, size int) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			ln := benchListener(b, mode)
			chunk := make([]byte, size)
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				for i := 0; i < b.N; i++ {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			cpu0 := processCPU()
			io.CopyN(io.Discard, c, int64(b.N)*int64(len(chunk)))
			<-done
			reportCPUPerByte(b, cpu0, int64(b.N)*int64(len(chunk)))
		})
	}
}

// net/http hello world over keep-alive conns, parallel clients.
func BenchmarkHTTPHello(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			ln := benchListener(b, mode)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "hello world")
			})}
			go srv.Serve(ln)
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 256}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			url := "http://" + ln.Addr().String() + "/"
			start := time.Now()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// Sending a 16 MiB file with io.Copy: through ReadFrom's buffer and the
// outbox (uring), or with sendfile(2) (package net).
func BenchmarkSendFile(b *testing.B) {
	path, data := tempFile(b, 16<<20)
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			ln := benchListener(b, mode)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				for i := 0; i < b.N; i++ {
					f, err := os.Open(path)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(c, f)
					f.Close()
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			cpu0 := processCPU()
			io.CopyN(io.Discard, c, int64(b.N)*int64(len(data)))
			wg.Wait()
			reportCPUPerByte(b, cpu0, int64(b.N)*int64(len(data)))
		})
	}
}
