package main

import (
	"strings"
	"testing"

	"github.com/uringnet/uringnet/go/uringnet"
)

func TestVerdictAndExitCode(t *testing.T) {
	var out strings.Builder
	code := run(&out)
	usable := uringnet.Available() == nil
	if usable != (code == 0) {
		t.Fatalf("exit %d but Available() usable=%v\n%s", code, usable, out.String())
	}
	if !strings.Contains(out.String(), "kernel:") || !strings.Contains(out.String(), "verdict:") {
		t.Fatalf("report lacks kernel or verdict:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "GOMAXPROCS:") {
		t.Fatalf("report lacks GOMAXPROCS and the default rings:\n%s", out.String())
	}
	if usable && !strings.Contains(out.String(), "opcode ACCEPT:") {
		t.Fatalf("usable io_uring but no opcode table:\n%s", out.String())
	}
}

func TestFallbackExitsNonZero(t *testing.T) {
	t.Setenv(uringnet.EnvVar, "off")
	var out strings.Builder
	if code := run(&out); code != 1 {
		t.Fatalf("exit %d with URINGNET=off\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "URINGNET=off") {
		t.Fatalf("verdict does not say why:\n%s", out.String())
	}
}
