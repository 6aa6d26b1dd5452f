package tests

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildExample builds ./examples/name and returns the binary's path.
func buildExample(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", bin, "../examples/"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// startExample runs bin with args and waits for its "serving"/"->" log line.
func startExample(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-lines:
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start", bin)
		return ""
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func echoOnce(t *testing.T, addr, msg string) {
	t.Helper()
	var c net.Conn
	var err error
	for i := 0; i < 50; i++ {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// Written while the echo is read: a message larger than the socket
	// buffers on the way (net.ipv4.tcp_wmem/rmem) would block otherwise.
	go io.WriteString(c, msg)
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo via %s: %q %v", addr, buf, err)
	}
}

func TestExamples(t *testing.T) {
	uringListener(t).Close() // skips visibly without io_uring
	echo := buildExample(t, "echo")
	for _, mode := range []string{"uring", "std"} {
		addr := freeAddr(t)
		line := startExample(t, echo, "-addr", addr, "-net", mode)
		if (mode == "uring") != contains(line, "io_uring") {
			t.Fatalf("echo -net=%s says %q", mode, line)
		}
		echoOnce(t, addr, "echo "+mode)
	}

	httpAddr := freeAddr(t)
	startExample(t, buildExample(t, "http"), "-addr", httpAddr, "-quiet")
	resp, err := http.Get("http://" + httpAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello world" {
		t.Fatalf("http example: %q", body)
	}

	tlsAddr := freeAddr(t)
	startExample(t, buildExample(t, "tls"), "-addr", tlsAddr)
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err = (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + tlsAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "HTTP/2.0") {
		t.Fatalf("tls example: %q", body)
	}

	// The pure-C server on the shim, built by make (skipped if not built).
	if cecho, err := filepath.Abs("../build/c-echo"); err == nil {
		if _, err := os.Stat(cecho); err == nil {
			addr := freeAddr(t)
			_, port, _ := net.SplitHostPort(addr)
			startExample(t, cecho, "-p", port)
			echoOnce(t, addr, strings.Repeat("c-echo ", 20000))
		} else {
			t.Log("SKIP: c-echo not built (make c-echo)")
		}
	}

	backend := freeAddr(t)
	startExample(t, echo, "-addr", backend)
	proxyAddr := freeAddr(t)
	startExample(t, buildExample(t, "proxy"), "-addr", proxyAddr, "-to", backend)
	big := strings.Repeat("proxied bytes ", 50000)
	echoOnce(t, proxyAddr, big)
}
