// Package grpc_test serves gRPC on a uringnet listener. It is its own module
// so that uringnet itself depends on nothing but the standard library.
package grpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/uringnet/uringnet/go/uringnet"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestGRPCOverUring(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	ln, err := (&uringnet.ListenConfig{Require: true}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	defer srv.Stop()

	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Unary calls.
	for i := 0; i < 200; i++ {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check %d: %v %v", i, resp, err)
		}
	}
	// A server stream that sees a status change.
	watchCtx, stopWatch := context.WithCancel(ctx)
	stream, err := client.Watch(watchCtx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Fatalf("first Watch message: %v %v", m, err)
	}
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("second Watch message: %v %v", m, err)
	}
	stopWatch()
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("GracefulStop did not return")
	}
}
