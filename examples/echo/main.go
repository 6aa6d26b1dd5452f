// Command echo writes back every byte it reads, on io_uring (-net=uring) or
// package net (-net=std). The serving code is the same for both.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/uringnet/uringnet/go/uringnet"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address host:port")
	mode := flag.String("net", "uring", "uring or std")
	rings := flag.Int("rings", 1, "io_uring rings to spread conns over (uring mode)")
	flag.Parse()

	ln, err := listen(*mode, *addr, *rings)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("echo: serving on %s (%s)", ln.Addr(), describe(ln))
	if ul, ok := ln.(*uringnet.Listener); ok {
		// On SIGTERM, print the ring counters (cmd/uringbench reads them).
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		go func() {
			<-sig
			b, _ := json.Marshal(ul.Stats())
			fmt.Fprintf(os.Stderr, "stats: %s\n", b)
			os.Exit(0)
		}()
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

func listen(mode, addr string, rings int) (net.Listener, error) {
	if mode == "std" {
		return net.Listen("tcp", addr)
	}
	lc := uringnet.ListenConfig{Rings: rings}
	return lc.Listen(context.Background(), "tcp", addr)
}

func describe(ln net.Listener) string {
	if _, ok := ln.(*uringnet.Listener); ok {
		return "io_uring"
	}
	if err := uringnet.Available(); err != nil {
		return "package net: " + err.Error()
	}
	return "package net"
}
