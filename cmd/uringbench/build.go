package main

import (
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
)

// goBuild builds pkg into bin with the go command, run in dir (relative to
// the repository root, where uringbench runs). The shim's cgo package
// #includes csrc/*.c, which Go's build cache does not see, so an edit to
// the C code alone would link the old shim: as the Makefile does, the
// build gets a checksum of csrc/ in CGO_CFLAGS (which the cache keys on),
// unless the environment sets CGO_CFLAGS itself.
func goBuild(dir, bin, pkg string) ([]byte, error) {
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = dir
	if os.Getenv("CGO_CFLAGS") == "" {
		flags, err := csrcFlags(".")
		if err != nil {
			return nil, err
		}
		cmd.Env = append(os.Environ(), "CGO_CFLAGS="+flags)
	}
	return cmd.CombinedOutput()
}

// csrcFlags returns the cgo flags for a build of the C shim under root:
// the Makefile's optimisation, and a checksum of csrc/'s files.
func csrcFlags(root string) (string, error) {
	files, err := filepath.Glob(filepath.Join(root, "csrc", "*"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no csrc/ under %s (run from the repository root)", root)
	}
	sum := crc32.NewIEEE()
	for _, f := range files { // Glob sorts them
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(sum, "%s %d\n", filepath.Base(f), len(b))
		sum.Write(b)
	}
	return fmt.Sprintf("-O2 -g -DUN_CSRC_SUM=%d", sum.Sum32()), nil
}
