// Package uringnet serves Go network connections through io_uring.
//
// Change one line — net.Listen(...) becomes uringnet.Listen(...) — and an
// echo server, net/http, TLS or gRPC server runs unchanged on io_uring
// instead of Go's epoll netpoller.
//
// Each listener owns its rings (ListenConfig.Rings: by default one fewer
// than GOMAXPROCS or the CPUs the process may use, 1 on 2 cores), each with
// an event-loop goroutine locked to its OS thread; accepted conns are
// spread over them, and Dial's conns ride the rings of an open listener
// with the default settings (else dial rings of their own), so a proxy's
// two sides share loops. A loop keeps a multishot accept armed on the
// listener and a multishot recv on every conn, receiving into a shared pool
// of provided buffers; Read copies out of those buffers and gives them
// back. At light load (ListenConfig.DirectReadConns busy conns per ring or
// fewer, however many idle ones it has), where there is nothing to batch,
// Read calls recv(2) itself and waits in Go's netpoller instead, as package
// net does. Write copies up to ListenConfig.WriteBuffer bytes into the conn's outbox (C
// memory) and returns, as a socket buffer lets package net's Write return;
// the loop sends the outbox with one send op at a time per conn. Larger
// Writes pin the caller's bytes and return once the kernel took them.
// Goroutines blocked in Read, Write or Accept are parked, not holding threads;
// the loop wakes them as completions arrive, reaping many at a time, and
// submits all queued work in one io_uring_enter.
//
// When io_uring cannot be used — kernel without it (ENOSYS), a seccomp filter
// (EPERM), kernel.io_uring_disabled, a missing opcode, or URINGNET=off in the
// environment — Listen returns a listener from package net and Available
// says why. ListenConfig.Require turns that into an error instead.
package uringnet
