package uringnet_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/uringnet/uringnet/go/uringnet"
)

// A net.Listener on io_uring: the serving code is what it would be for
// net.Listen.
func ExampleListen() {
	ln, err := uringnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo
	}()

	c, _ := net.Dial("tcp", ln.Addr().String())
	defer c.Close()
	c.Write([]byte("hello"))
	buf := make([]byte, 5)
	io.ReadFull(c, buf)
	fmt.Println(string(buf))
	// Output: hello
}

// net/http on io_uring.
func ExampleListen_http() {
	ln, err := uringnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello world")
	})}
	go srv.Serve(ln)
	defer srv.Close()

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: hello world
}

// Options, and an error instead of the package net fallback.
func ExampleListenConfig() {
	lc := uringnet.ListenConfig{BufferCount: 4096, BufferSize: 16 << 10, Require: true}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("no io_uring here:", err) // e.g. under a seccomp profile
		return
	}
	defer ln.Close()
	_, onUring := ln.(*uringnet.Listener)
	fmt.Println("on io_uring:", onUring)
}

// Whether io_uring can be used, and why not.
func ExampleAvailable() {
	if err := uringnet.Available(); err != nil {
		fmt.Println("falling back to package net:", err)
	}
}

// A client conn on io_uring.
func ExampleDial() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, _ := ln.Accept()
		io.WriteString(c, "hi from the server")
		c.Close()
	}()
	c, err := uringnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	msg, _ := io.ReadAll(c)
	fmt.Println(string(msg))
	// Output: hi from the server
}

// A socket handed over by systemd's socket activation (the first one is
// descriptor 3, with LISTEN_FDS set), served through io_uring.
func ExampleFileListener() {
	if os.Getenv("LISTEN_FDS") == "" {
		return // not started by systemd
	}
	ln, err := uringnet.FileListener(os.NewFile(3, "listen-fd-3"))
	if err != nil {
		panic(err)
	}
	http.Serve(ln, http.NotFoundHandler())
}
