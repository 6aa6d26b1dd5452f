package uringnet

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pretendCPUs makes the process look as if it may use n CPUs until t ends,
// so that tests of several default rings run on a 2-core machine.
func pretendCPUs(t *testing.T, n int) {
	old := usableCPUs
	usableCPUs = func() int { return n }
	t.Cleanup(func() { usableCPUs = old })
}

// fakeRoot lays files out under a temporary directory standing for "/".
func fakeRoot(t *testing.T, files map[string]string) string {
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	v2Mount     = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	v1CPUMount  = "32 31 0:29 /docker/c1 /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
	v1MemMount  = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	hybridMount = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	otherMounts = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n" +
		"23 22 0:5 / /proc rw - proc proc rw\n" +
		"garbage\n"
)

// The CPU limit is read from cgroup v2's cpu.max or v1's CFS quota, the
// tightest along the process's cgroup and its ancestors under the mount;
// a limit of 1.5 CPUs counts as 2.
func TestCgroupCPULimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  map[string]string
		limit  float64 // 0: none
		capped int     // capByCgroup(64, root)
	}{
		{"v2 leaf", map[string]string{
			"proc/self/cgroup":               "0::/a/b\n",
			"proc/self/mountinfo":            otherMounts + v2Mount,
			"sys/fs/cgroup/a/b/cpu.max":      "150000 100000\n",
			"sys/fs/cgroup/a/cpu.max":        "max 100000\n",
			"sys/fs/cgroup/cgroup.procs":     "",
			"sys/fs/cgroup/a/b/cgroup.procs": "1\n",
		}, 1.5, 2},
		{"v2 parent tighter", map[string]string{
			"proc/self/cgroup":          "0::/a/b\n",
			"proc/self/mountinfo":       v2Mount,
			"sys/fs/cgroup/a/b/cpu.max": "max 100000\n",
			"sys/fs/cgroup/a/cpu.max":   "50000 100000\n",
		}, 0.5, 1},
		{"v2 no limit", map[string]string{
			"proc/self/cgroup":          "0::/a/b\n",
			"proc/self/mountinfo":       v2Mount,
			"sys/fs/cgroup/a/b/cpu.max": "max 100000\n",
		}, 0, 64},
		{"v2 at the mount's root", map[string]string{
			"proc/self/cgroup":        "0::/\n",
			"proc/self/mountinfo":     v2Mount,
			"sys/fs/cgroup/cpu.max":   "400000 100000\n",
			"sys/fs/cgroup/a/cpu.max": "100000 100000\n", // not ours
		}, 4, 4},
		{"v1 under a mount root", map[string]string{
			"proc/self/cgroup":                            "5:memory:/docker/c1\n3:cpu,cpuacct:/docker/c1\n0::/\n",
			"proc/self/mountinfo":                         otherMounts + v1MemMount + v1CPUMount + hybridMount,
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "250000\n",
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
			"sys/fs/cgroup/memory/docker/c1/cpu.max":      "100000 100000\n", // not a cpu hierarchy
		}, 2.5, 3},
		{"v1 no quota", map[string]string{
			"proc/self/cgroup":                            "3:cpu,cpuacct:/docker/c1\n",
			"proc/self/mountinfo":                         v1CPUMount,
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "-1\n",
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
		}, 0, 64},
		{"v1 cgroup outside the mount", map[string]string{
			"proc/self/cgroup":                            "3:cpu,cpuacct:/other\n",
			"proc/self/mountinfo":                         v1CPUMount,
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "100000\n",
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
		}, 0, 64},
		{"mount point with a space", map[string]string{
			"proc/self/cgroup":           "0::/a\n",
			"proc/self/mountinfo":        `30 23 0:26 / /sys/fs/my\040cgroup rw shared:4 - cgroup2 cgroup2 rw` + "\n",
			"sys/fs/my cgroup/a/cpu.max": "200000 100000\n",
		}, 2, 2},
		{"no cgroup files", map[string]string{}, 0, 64},
		{"garbage", map[string]string{
			"proc/self/cgroup":          "nonsense\n0::/a\n",
			"proc/self/mountinfo":       "1 2 3\n" + v2Mount,
			"sys/fs/cgroup/a/cpu.max":   "lots 100000\n",
			"sys/fs/cgroup/cpu.max":     "100000 0\n",
			"sys/fs/cgroup/a/cpu.stat":  "usage_usec 1\n",
			"sys/fs/cgroup/a/cpu.extra": "",
		}, 0, 64},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			root := fakeRoot(t, tc.files)
			limit, ok := cgroupCPULimit(root)
			if ok != (tc.limit != 0) || limit != tc.limit {
				t.Errorf("cgroupCPULimit = %v, %v; want %v", limit, ok, tc.limit)
			}
			if got := capByCgroup(64, root); got != tc.capped {
				t.Errorf("capByCgroup(64) = %d, want %d", got, tc.capped)
			}
			if got := capByCgroup(2, root); got != min(2, tc.capped) {
				t.Errorf("capByCgroup(2) = %d, want %d", got, min(2, tc.capped))
			}
		})
	}
}

// The default ring count follows GOMAXPROCS only up to the CPUs the
// process may use: GOMAXPROCS 8 on 2 usable CPUs is one ring, not 7.
func TestDefaultRingsCappedByCPUs(t *testing.T) {
	requireUring(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	for _, tc := range []struct{ cpus, rings int }{{2, 1}, {3, 2}, {16, 7}} {
		pretendCPUs(t, tc.cpus)
		ln, err := (&ListenConfig{Require: true}).Listen(bg, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n := len(ln.(*Listener).l.rings())
		ln.Close()
		if n != tc.rings {
			t.Errorf("GOMAXPROCS 8, %d CPUs: %d rings, want %d", tc.cpus, n, tc.rings)
		}
		if rep := Diagnose(); rep.CPUs != tc.cpus || rep.Rings != tc.rings {
			t.Errorf("GOMAXPROCS 8, %d CPUs: Diagnose says %d CPUs, %d rings", tc.cpus, rep.CPUs, rep.Rings)
		}
	}
}

// A process in a cgroup limited to half a CPU counts one usable CPU. The
// test makes such a cgroup (root and a writable cgroup file system, v1 or
// v2), moves a child into it before the child reads anything, and lets the
// child check.
func TestUsableCPUsInLimitedCgroup(t *testing.T) {
	if os.Getenv(childEnv) == "cgroup" {
		// Wait until the parent has moved us.
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		if n := usableCPUs(); n != 1 {
			b, _ := os.ReadFile("/proc/self/cgroup")
			t.Fatalf("usableCPUs() = %d in a cgroup of half a CPU, want 1; /proc/self/cgroup:\n%s", n, b)
		}
		if rep := Diagnose(); rep.CPUs != 1 || rep.Rings != 1 {
			t.Fatalf("Diagnose: %d CPUs, %d rings; want 1 and 1", rep.CPUs, rep.Rings)
		}
		return
	}
	dir, limit, err := makeCPUCgroup()
	if err != nil {
		t.Skipf("SKIP: no cgroup with a CPU limit can be made here: %v", err)
	}
	defer removeCgroup(t, dir)
	if err := limit(50000, 100000); err != nil {
		t.Skipf("SKIP: setting the cgroup's CPU limit: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=cgroup", "GOMAXPROCS=4")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	moved := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(fmt.Sprint(cmd.Process.Pid)), 0)
	stdin.Write([]byte("go\n"))
	stdin.Close()
	werr := cmd.Wait()
	if moved != nil {
		t.Skipf("SKIP: moving the child into the cgroup: %v", moved)
	}
	if werr != nil {
		t.Fatalf("child: %v\n%s", werr, out.String())
	}
	t.Log(strings.TrimSpace(out.String()))
}

// makeCPUCgroup makes a cgroup under the hierarchy that carries the cpu
// controller and returns its directory and a function that sets its CPU
// limit (quota and period in µs).
func makeCPUCgroup() (string, func(quota, period int) error, error) {
	if os.Geteuid() != 0 {
		return "", nil, errors.New("not root")
	}
	mounts, err := readCgroupMounts("/proc/self/mountinfo")
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("uringnet-test-%d", os.Getpid())
	for _, m := range mounts {
		if m.version == 1 {
			dir := filepath.Join(m.point, name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				continue
			}
			return dir, func(quota, period int) error {
				if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(fmt.Sprint(period)), 0); err != nil {
					return err
				}
				return os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(fmt.Sprint(quota)), 0)
			}, nil
		}
	}
	for _, m := range mounts {
		if m.version == 2 {
			// The cpu controller must be enabled for the mount root's children.
			os.WriteFile(filepath.Join(m.point, "cgroup.subtree_control"), []byte("+cpu"), 0)
			dir := filepath.Join(m.point, name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, "cpu.max")); err != nil {
				os.Remove(dir)
				continue
			}
			return dir, func(quota, period int) error {
				return os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(fmt.Sprint(quota, " ", period)), 0)
			}, nil
		}
	}
	return "", nil, errors.New("no writable cgroup hierarchy with the cpu controller")
}

// removeCgroup removes a test cgroup once its processes have left it.
func removeCgroup(t *testing.T, dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(dir)
		if err == nil || os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("removing test cgroup %s: %v", dir, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
