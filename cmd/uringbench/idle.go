package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"time"
)

// idleRSS starts examples/http in mode, opens n keep-alive conns that each
// make one request and then stay idle, and returns the server's RSS growth
// per conn in KiB.
func idleRSS(httpBin, mode string, n int) (float64, error) {
	addr := freeAddr()
	srv := exec.Command(httpBin, "-addr", addr, "-net", mode, "-quiet")
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	if err := waitListening(addr); err != nil {
		return 0, err
	}
	time.Sleep(200 * time.Millisecond)
	before := rssKiB(srv.Process.Pid)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return 0, fmt.Errorf("conn %d: %v", i, err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, fmt.Errorf("conn %d: %v", i, err)
		}
		resp.Body.Close()
	}
	time.Sleep(500 * time.Millisecond)
	after := rssKiB(srv.Process.Pid)
	return float64(after-before) / float64(n), nil
}

func rssKiB(pid int) int {
	return int(procStatus(fmt.Sprintf("/proc/%d/status", pid))["VmRSS"])
}
