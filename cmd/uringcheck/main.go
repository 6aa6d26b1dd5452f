// Command uringcheck tells whether uringnet can use io_uring here and why
// not: kernel version, kernel.io_uring_disabled, seccomp (EPERM), missing
// opcodes, and the ring features the engine will use. It exits 1 when
// uringnet would fall back to package net.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/uringnet/uringnet/go/uringnet"
)

func main() { os.Exit(run(os.Stdout)) }

// run prints the report to w and returns the exit code.
func run(w io.Writer) int {
	rep := uringnet.Diagnose()
	fmt.Fprintf(w, "kernel:               %s\n", rep.Kernel)
	if rep.Disabled != "" {
		fmt.Fprintf(w, "io_uring_disabled:    %s\n", rep.Disabled)
	}
	if len(rep.Ops) > 0 {
		fmt.Fprintf(w, "ring setup flags:     %s\n", orNone(rep.SetupFlags))
		fmt.Fprintf(w, "features:             %s\n", orNone(rep.Features))
		names := make([]string, 0, len(rep.Ops))
		for n := range rep.Ops {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			mark := "yes"
			if !rep.Ops[n] {
				mark = "MISSING"
			}
			fmt.Fprintf(w, "opcode %-14s %s\n", n+":", mark)
		}
	}
	fmt.Fprintf(w, "GOMAXPROCS:           %d (CPUs usable: %d; rings per listener by default: %d)\n", rep.GOMAXPROCS, rep.CPUs, rep.Rings)
	if rep.Err != nil {
		fmt.Fprintf(w, "verdict:              package net fallback: %v\n", rep.Err)
		return 1
	}
	fmt.Fprintln(w, "verdict:              io_uring will be used")
	return 0
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, " ")
}
