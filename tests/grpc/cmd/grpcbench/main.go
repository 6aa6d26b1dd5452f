// Command grpcbench is the gRPC side of cmd/uringbench (its -grpc points):
// a server of unary health checks on a uringnet or package net listener
// (-serve), and a closed-loop load of such calls (-load) that prints what
// uringbench's load generators print: "start" and "stop" around the
// measured window, then the result as JSON. It lives in the tests/grpc
// module so that uringnet itself depends on nothing but the standard
// library.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uringnet/uringnet/cmd/uringbench/loadresult"
	"github.com/uringnet/uringnet/go/uringnet"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	serve := flag.Bool("serve", false, "serve health checks")
	load := flag.Bool("load", false, "drive a closed-loop load of health checks")
	addr := flag.String("addr", "127.0.0.1:9000", "server address")
	mode := flag.String("net", "uring", "-serve: uring or std")
	conns := flag.Int("conns", 100, "-load: client conns")
	inflight := flag.Int("inflight", 1, "-load: calls in flight per conn")
	warm := flag.Duration("warm", 250*time.Millisecond, "-load: warm-up")
	dur := flag.Duration("dur", 1750*time.Millisecond, "-load: measured time")
	flag.Parse()
	switch {
	case *serve:
		runServer(*addr, *mode)
	case *load:
		runLoad(*addr, *conns, *inflight, *warm, *dur)
	default:
		log.Fatal("want -serve or -load")
	}
}

func runServer(addr, mode string) {
	var ln net.Listener
	var err error
	if mode == "std" {
		ln, err = net.Listen("tcp", addr)
	} else {
		ln, err = (&uringnet.ListenConfig{Require: true}).Listen(context.Background(), "tcp", addr)
	}
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	log.Fatal(srv.Serve(ln))
}

func runLoad(addr string, conns, inflight int, warm, dur time.Duration) {
	var measuring, stop atomic.Bool
	var errs atomic.Int64
	clients := make([]healthpb.HealthClient, conns)
	for i := range clients {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			log.Fatal(err)
		}
		defer cc.Close()
		clients[i] = healthpb.NewHealthClient(cc)
		// Connect now, before the clock starts.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = clients[i].Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err != nil {
			log.Fatal(err)
		}
	}
	lat := make([][]uint32, conns*inflight) // µs per call, per caller
	var wg sync.WaitGroup
	for i := range lat {
		wg.Add(1)
		go func(i int, client healthpb.HealthClient) {
			defer wg.Done()
			for !stop.Load() {
				// A call that never returns must not hang the run.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				t0 := time.Now()
				_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
				cancel()
				if err != nil {
					errs.Add(1)
					return
				}
				if measuring.Load() {
					lat[i] = append(lat[i], uint32(time.Since(t0).Microseconds()))
				}
			}
		}(i, clients[i%conns])
	}
	elapsed := loadresult.Window(os.Stdout, warm, dur, &measuring)
	stop.Store(true)
	wg.Wait()
	loadresult.Write(os.Stdout, lat, elapsed, errs.Load())
}
