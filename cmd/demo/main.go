// Command demo starts the examples/http server on io_uring as a child
// process, sends it requests over keep-alive connections, and prints what
// came back and what the server logged.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	server := flag.String("server", "build/http-example", "path of the built examples/http binary")
	requests := flag.Int("n", 5, "requests to send")
	flag.Parse()

	addr := freeAddr()
	cmd := exec.Command(*server, "-addr", addr, "-net", "uring")
	out, err := cmd.StderrPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	fmt.Println("server:", waitLine(lines, "serving on"))

	client := &http.Client{Timeout: 10 * time.Second}
	for i := 1; i <= *requests; i++ {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("GET / #%d -> %s %q\n", i, resp.Status, body)
		fmt.Println("server:", waitLine(lines, "served #"))
	}
}

// waitLine returns the next server log line containing want.
func waitLine(lines <-chan string, want string) string {
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				log.Fatal("server exited")
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			log.Fatalf("server did not log %q", want)
		}
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func init() { log.SetOutput(os.Stderr) }
