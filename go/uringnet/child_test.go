package uringnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// Some tests need a process of their own (a lowered fd limit, a seccomp
// filter). They re-run the test binary with childEnv naming the part to run.
const childEnv = "URINGNET_TEST_CHILD"

// inChild runs the top-level test t again in a child process with childEnv
// set to part and logs the child's output, unless this process is that
// child. It reports whether it is: then the caller runs the test's body.
// The child's failure fails t, and its skip skips t.
func inChild(t *testing.T, part string) bool {
	t.Helper()
	if os.Getenv(childEnv) == part {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+part)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", part, err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("SKIP: child %s skipped:\n%s", part, out)
	}
	t.Log(strings.TrimSpace(string(out)))
	return false
}

// Accept under fd exhaustion reports EMFILE like package net, and the
// listener works again once fds are free.
func TestAcceptFDExhaustion(t *testing.T) {
	requireUring(t)
	if !inChild(t, "fds") {
		return
	}
	// A small limit, so that filling the table is quick. It is set before
	// the listener exists: io_uring reads RLIMIT_NOFILE when the multishot
	// accept is prepared, not at each accept.
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = uint64(openFDs(t) + 64)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("SKIP: setrlimit: %v", err)
	}
	ln := newTestListener(t, nil)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// The client fd exists; now use up the rest. The pending conn may or
	// may not have been accepted by the ring already: close it and dial again.
	c0, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	c0.Close() // the loop closes the fd asynchronously, after its last CQE
	client.Close()
	waitFor(t, 10*time.Second, "closed conns' fds released", func() bool { return openFDs(t) <= before-2 })
	var hogs []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		hogs = append(hogs, f)
	}
	// Free one fd for the client socket, then fill again after dialling.
	hogs[len(hogs)-1].Close()
	hogs = hogs[:len(hogs)-1]
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ln.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = ln.Accept()
	if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
		t.Fatalf("Accept with no fds left: %v, want EMFILE", err)
	}
	checkOpError(t, err, "accept", syscall.EMFILE)
	var ne net.Error
	if !errors.As(err, &ne) {
		t.Fatal("not a net.Error")
	}
	if !ne.Temporary() { // deprecated, but net/http's Serve still backs off and retries on it
		t.Fatalf("Accept's %v is not Temporary: net/http's Serve would return instead of retrying", err)
	}
	for _, f := range hogs {
		f.Close()
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept after fds were freed: %v", err)
	}
	defer c.Close()
	go io.Copy(c, c)
	client.Write([]byte("ok"))
	buf := make([]byte, 2)
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("echo after recovery: %q %v", buf, err)
	}
	fmt.Println("child: accept reported EMFILE, then served after fds were freed")
}

// denyIOUringSetup installs a seccomp filter on every thread of this process
// that makes io_uring_setup fail with EPERM, as Docker's default profile does.
func denyIOUringSetup() error {
	const (
		sysIOUringSetup = 425
		auditArchX86_64 = 0xc000003e
		seccompRetErrno = 0x00050000
		seccompRetAllow = 0x7fff0000
		seccompSetMode  = 1 // SECCOMP_SET_MODE_FILTER
		seccompTSync    = 1 // SECCOMP_FILTER_FLAG_TSYNC
		sysSeccomp      = 317
		prSetNoNewPrivs = 38
	)
	filter := []syscall.SockFilter{
		{Code: syscall.BPF_LD | syscall.BPF_W | syscall.BPF_ABS, K: 4}, // arch
		{Code: syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K, Jt: 1, Jf: 0, K: auditArchX86_64},
		{Code: syscall.BPF_RET | syscall.BPF_K, K: seccompRetAllow},
		{Code: syscall.BPF_LD | syscall.BPF_W | syscall.BPF_ABS, K: 0}, // syscall nr
		{Code: syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K, Jt: 0, Jf: 1, K: sysIOUringSetup},
		{Code: syscall.BPF_RET | syscall.BPF_K, K: seccompRetErrno | uint32(syscall.EPERM)},
		{Code: syscall.BPF_RET | syscall.BPF_K, K: seccompRetAllow},
	}
	prog := syscall.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); e != 0 {
		return e
	}
	if _, _, e := syscall.RawSyscall(sysSeccomp, seccompSetMode, seccompTSync, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return e
	}
	return nil
}

// Under a seccomp filter that refuses io_uring_setup, Listen falls back to
// package net and serves; with Require it fails naming the reason.
func TestFallbackUnderSeccomp(t *testing.T) {
	if os.Getenv(childEnv) != "seccomp" { // the child probes only under its filter
		if err := Available(); err != nil {
			t.Skipf("SKIP: io_uring already unavailable, nothing to block: %v", err)
		}
	}
	if !inChild(t, "seccomp") {
		return
	}
	if err := denyIOUringSetup(); err != nil {
		t.Skipf("SKIP: cannot install a seccomp filter: %v", err)
	}
	why := Available()
	if why == nil || !errors.Is(why, ErrUnavailable) || !strings.Contains(why.Error(), "not permitted") {
		t.Fatalf("Available() under seccomp = %v", why)
	}
	ln, err := Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, ok := ln.(*net.TCPListener); !ok {
		t.Fatalf("fallback listener is %T", ln)
	}
	expectEchoes(t, ln)
	_, err = (&ListenConfig{Require: true}).Listen(bg, "tcp", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "not permitted") {
		t.Fatalf("Require under seccomp: %v", err)
	}
	fmt.Printf("child: Available() = %v\nchild: Require error = %v\n", why, err)
}
