package uringnet

import (
	"fmt"
	"os"
	"sync"

	"github.com/uringnet/uringnet/go/internal/shim"
)

// EnvVar is the environment variable that, set to "off", makes Listen use
// package net instead of io_uring.
const EnvVar = "URINGNET"

var probeOnce struct {
	sync.Once
	err error
}

// Available reports whether io_uring can be used in this process: nil if so,
// otherwise an error (wrapping ErrUnavailable) that says why not — the
// URINGNET=off override, ENOSYS, EPERM from seccomp or
// kernel.io_uring_disabled, or a missing opcode. The kernel is asked once.
func Available() error {
	if os.Getenv(EnvVar) == "off" {
		return fmt.Errorf("%w: disabled by %s=off", ErrUnavailable, EnvVar)
	}
	probeOnce.Do(func() {
		if errno, why := shim.Probe(); errno != 0 {
			probeOnce.err = fmt.Errorf("%w: %s%s", ErrUnavailable, why, disabledHint())
		}
	})
	return probeOnce.err
}

// disabledHint names kernel.io_uring_disabled when it is set.
func disabledHint() string {
	b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
	if err != nil || len(b) == 0 || b[0] == '0' {
		return ""
	}
	return fmt.Sprintf(" (kernel.io_uring_disabled=%c)", b[0])
}
