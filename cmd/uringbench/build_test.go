package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The cgo flags change with any edit to csrc/, so the go command rebuilds
// the shim rather than linking one built from older C code.
func TestCsrcFlagsFollowTheCCode(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "csrc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("reap.c", "int a;\n")
	write("uringnet.h", "#define X 1\n")
	first, err := csrcFlags(root)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "-O2 -g -DUN_CSRC_SUM=") {
		t.Fatalf("flags %q", first)
	}
	if again, _ := csrcFlags(root); again != first {
		t.Fatalf("same C code, flags %q then %q", first, again)
	}
	write("uringnet.h", "#define X 2\n")
	if edited, _ := csrcFlags(root); edited == first {
		t.Fatalf("header edited, flags still %q", edited)
	}
	if _, err := csrcFlags(t.TempDir()); err == nil {
		t.Fatal("no csrc/: no error")
	}
}
