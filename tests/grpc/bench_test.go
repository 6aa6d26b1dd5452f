package grpc_test

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/uringnet/uringnet/go/uringnet"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// processCPU is this process's user and system CPU time so far. Client and
// server both run here; the client is the same code in both modes, so the
// difference between modes is the server's.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUnary runs unary health checks, GOMAXPROCS calls in flight per
// client conn, from 4 conns (few busy conns: uringnet reads them directly,
// as package net does) and from 128 (read through the ring), against a
// server on a uringnet listener ("uring") and on package net's ("std") in
// one run; compare with benchstat. It reports calls per second and the
// process's CPU microseconds per call.
func BenchmarkUnary(b *testing.B) {
	for _, conns := range []int{4, 128} {
		for _, mode := range []string{"uring", "std"} {
			b.Run(fmt.Sprintf("conns=%d/%s", conns, mode), func(b *testing.B) { benchUnary(b, mode, conns) })
		}
	}
}

func benchUnary(b *testing.B, mode string, conns int) {
	var ln net.Listener
	var err error
	if mode == "std" {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	} else {
		if err := uringnet.Available(); err != nil {
			b.Skipf("SKIP: %v", err)
		}
		ln, err = (&uringnet.ListenConfig{Require: true}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	}
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	defer srv.Stop()

	clients := make([]healthpb.HealthClient, conns)
	for i := range clients {
		cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		clients[i] = healthpb.NewHealthClient(cc)
		if _, err := clients[i].Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			b.Fatal(err) // connects before the clock starts
		}
	}
	next := make(chan int, 1)
	next <- 0
	b.SetParallelism(conns) // RunParallel starts conns * GOMAXPROCS goroutines
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		i := <-next
		next <- i + 1
		client := clients[i%len(clients)]
		ctx := context.Background()
		for pb.Next() {
			if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/call")
}
