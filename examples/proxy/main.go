// Command proxy is a TCP proxy with both sides on io_uring: it accepts with
// uringnet.Listen, dials the backend with uringnet.Dial, and copies both
// ways with io.Copy, half-closing each direction as it ends.
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"sync"

	"github.com/uringnet/uringnet/go/uringnet"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address host:port")
	backend := flag.String("to", "127.0.0.1:8080", "backend address host:port")
	flag.Parse()

	ln, err := uringnet.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("proxy: %s -> %s", ln.Addr(), *backend)
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go proxy(c, *backend)
	}
}

// halfCloser is what *uringnet.Conn and *net.TCPConn both offer.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

func proxy(client net.Conn, backend string) {
	defer client.Close()
	server, err := uringnet.Dial("tcp", backend)
	if err != nil {
		log.Printf("proxy: dial %s: %v", backend, err)
		return
	}
	defer server.Close()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if hc, ok := dst.(halfCloser); ok {
			hc.CloseWrite()
		}
	}
	wg.Add(2)
	go pipe(server, client)
	go pipe(client, server)
	wg.Wait()
}
