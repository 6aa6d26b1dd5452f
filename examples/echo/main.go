// Command echo writes back every byte it reads, on io_uring (-net=uring) or
// package net (-net=std). The serving code is the same for both.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/uringnet/uringnet/go/uringnet"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address host:port")
	mode := flag.String("net", "uring", "uring or std")
	rings := flag.Int("rings", 0, "io_uring rings to spread conns over (uring mode; 0: the default, GOMAXPROCS-1)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until SIGTERM (benchmarks)")
	flag.Parse()

	ln, err := listen(*mode, *addr, *rings)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("echo: serving on %s (%s)", ln.Addr(), describe(ln))
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	ul, _ := ln.(*uringnet.Listener)
	// A uring server prints its ring counters on SIGUSR1, and on SIGTERM
	// before exiting (cmd/uringbench reads them); SIGTERM also ends the
	// CPU profile.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	if ul != nil {
		signal.Notify(sig, syscall.SIGUSR1)
	}
	go func() {
		for s := range sig {
			if ul != nil {
				b, _ := json.Marshal(ul.Stats())
				fmt.Fprintf(os.Stderr, "stats: %s\n", b)
			}
			if s == syscall.SIGTERM {
				pprof.StopCPUProfile()
				os.Exit(0)
			}
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			echo(c)
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

// echo writes back what it reads until the peer closes. A plain buffer loop
// (not io.Copy, which for two *net.TCPConn splices through a pipe pair per
// conn): the same code path in every mode, and one descriptor per conn.
func echo(c net.Conn) {
	buf := make([]byte, 8<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
