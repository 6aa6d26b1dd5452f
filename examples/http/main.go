// Command http serves "hello world" at GET / with net/http, on io_uring
// (-net=uring) or package net (-net=std). The handler code is the same.
// -work gives the handler CPU work of its own (benchmarks).
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/uringnet/uringnet/go/uringnet"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address host:port")
	mode := flag.String("net", "uring", "uring or std")
	quiet := flag.Bool("quiet", false, "do not log each request")
	work := flag.Int("work", 0, "hash a 1 KiB block this many times (SHA-256) per request: handler CPU work")
	flag.Parse()

	var ln net.Listener
	var err error
	if *mode == "std" {
		ln, err = net.Listen("tcp", *addr)
	} else {
		ln, err = uringnet.Listen("tcp", *addr)
	}
	if err != nil {
		log.Fatal(err)
	}
	how := "package net"
	if _, ok := ln.(*uringnet.Listener); ok {
		how = "io_uring"
	} else if why := uringnet.Available(); why != nil && *mode != "std" {
		how = "package net (fallback: " + why.Error() + ")"
	}
	log.Printf("http: serving on http://%s via %s", ln.Addr(), how)

	var served atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		if !*quiet {
			log.Printf("served #%d %s %s from %s", n, r.Method, r.URL.Path, r.RemoteAddr)
		}
		if *work > 0 {
			var sum [sha256.Size]byte
			block := make([]byte, 1024)
			for i := 0; i < *work; i++ {
				copy(block, sum[:])
				sum = sha256.Sum256(block)
			}
			w.Header().Set("X-Work", fmt.Sprintf("%x", sum[:4]))
		}
		io.WriteString(w, "hello world")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Fatal(srv.Serve(ln))
}
