package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// A loadGen starts the process that drives one run's load. Both kinds print
// "start" and "stop" around the measured window, then a loadresult.Result as JSON.
type loadGen interface {
	command(work, addr string, conns, size, idle int, warm, dur time.Duration) *exec.Cmd
	String() string
}

// cLoad is cmd/uringload: a C epoll client with a few threads. It costs the
// machine far less CPU per round trip than a Go client, which matters where
// client and server share two cores: what the server saves shows in its
// throughput.
type cLoad struct {
	bin     string
	threads int
}

// buildCLoad compiles src (cmd/uringload/uringload.c) into dir with $CC
// (default cc).
func buildCLoad(dir, src string, threads int) (cLoad, error) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	bin := filepath.Join(dir, "uringload")
	if out, err := exec.Command(cc, "-O2", "-pthread", "-o", bin, src).CombinedOutput(); err != nil {
		return cLoad{}, fmt.Errorf("build %s (run from the repository root): %v\n%s", src, err, out)
	}
	return cLoad{bin, threads}, nil
}

func (g cLoad) command(work, addr string, conns, size, idle int, warm, dur time.Duration) *exec.Cmd {
	return exec.Command(g.bin, "-a", addr, "-w", work, "-c", strconv.Itoa(conns), "-s", strconv.Itoa(size),
		"-i", strconv.Itoa(idle), "-t", strconv.Itoa(g.threads),
		"-W", strconv.FormatInt(warm.Milliseconds(), 10), "-d", strconv.FormatInt(dur.Milliseconds(), 10))
}

func (g cLoad) String() string {
	return fmt.Sprintf("cmd/uringload (C, epoll, %d thread(s))", g.threads)
}

// goLoad is this command re-run with -load (runLoad): a goroutine per conn
// on package net.
type goLoad struct{}

func (goLoad) command(work, addr string, conns, size, idle int, warm, dur time.Duration) *exec.Cmd {
	return exec.Command(os.Args[0], "-load", "-work", work, "-addr", addr, "-warm", warm.String(),
		"-dur", dur.String(), "-withidle", strconv.Itoa(idle), strconv.Itoa(conns), strconv.Itoa(size))
}

func (goLoad) String() string { return "uringbench -load (Go, goroutine per conn, package net)" }

// grpcLoad is tests/grpc/cmd/grpcbench -load: gRPC health checks from a Go
// client, one call in flight per conn. Its server (-serve) is the same
// binary.
type grpcLoad struct{ bin string }

// buildGRPCBench builds tests/grpc/cmd/grpcbench into dir, in its own
// module (which needs gRPC's modules: downloaded, or in the module cache).
func buildGRPCBench(dir string) (grpcLoad, error) {
	bin, err := filepath.Abs(filepath.Join(dir, "grpcbench"))
	if err != nil {
		return grpcLoad{}, err
	}
	if out, err := goBuild(filepath.Join("tests", "grpc"), bin, "./cmd/grpcbench"); err != nil {
		return grpcLoad{}, fmt.Errorf("build tests/grpc/cmd/grpcbench (run from the repository root): %v\n%s", err, out)
	}
	return grpcLoad{bin}, nil
}

func (g grpcLoad) command(work, addr string, conns, size, idle int, warm, dur time.Duration) *exec.Cmd {
	return exec.Command(g.bin, "-load", "-addr", addr, "-conns", strconv.Itoa(conns),
		"-warm", warm.String(), "-dur", dur.String())
}

func (grpcLoad) String() string {
	return "tests/grpc/cmd/grpcbench -load (Go gRPC client, one call in flight per conn)"
}
