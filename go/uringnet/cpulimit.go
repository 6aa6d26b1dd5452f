package uringnet

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// The CPUs a process may use bound its default ring count (config.go):
// GOMAXPROCS, capped by the CPU affinity (runtime.NumCPU) and by the CPU
// bandwidth limit of its cgroup. Go 1.25 and later derive GOMAXPROCS from
// that limit already; older ones use the node's CPU count, so a server in a
// container limited to 2 CPUs on a 64-core node would get 63 rings, 63
// loop threads taking turns on 2 CPUs. On 2 cores, GOMAXPROCS 4 and 8 with
// their 3 and 7 rings served 0.91-1.01x package net's echo round trips at
// 100 and 1,000 conns and 0.88-0.99x its net/http requests; one ring served
// 1.37-1.43x and 1.14-1.21x (tests/bench/README.md, "GOMAXPROCS above the
// cores").

// usableCPUs is how many CPUs the process may use: the affinity count,
// capped by the cgroup limit rounded up (as the runtime rounds it). It is
// read once; later changes of the limit are not seen. A variable so that
// tests of several rings can pretend to have more cores.
var usableCPUs = sync.OnceValue(func() int { return capByCgroup(runtime.NumCPU(), "/") })

// capByCgroup caps n CPUs by the limit of the process's cgroup, read under
// root, rounded up and at least 1.
func capByCgroup(n int, root string) int {
	if limit, ok := cgroupCPULimit(root); ok {
		n = min(n, max(1, int(math.Ceil(limit))))
	}
	return n
}

// cgroupCPULimit returns the CPU bandwidth limit (in CPUs, quota/period)
// of this process's cgroup and of the ancestors visible under the
// hierarchy's mount, the tightest of them; ok is false when none has one
// or the files cannot be read. It looks at cgroup v2 (cpu.max) and at the
// v1 cpu controller (cpu.cfs_quota_us, cpu.cfs_period_us). root is the
// file system root ("/"; tests pass a directory laid out like one).
func cgroupCPULimit(root string) (limit float64, ok bool) {
	paths, err := readCgroupPaths(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0, false
	}
	mounts, err := readCgroupMounts(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return 0, false
	}
	for _, m := range mounts {
		path, found := paths[m.version]
		if !found {
			continue
		}
		dir, inside := m.dirOf(path)
		if !inside {
			continue
		}
		top := filepath.Join(root, m.point)
		for dir = filepath.Join(root, dir); ; dir = filepath.Dir(dir) {
			if l, has := readCPULimit(dir, m.version); has && (!ok || l < limit) {
				limit, ok = l, true
			}
			if len(dir) <= len(top) { // the mount point: dirOf put dir under it
				break
			}
		}
	}
	return limit, ok
}

// cgroupMount is a mounted cgroup hierarchy that carries the cpu
// controller: version 2 (cgroup2), or version 1 with cpu among its
// controllers.
type cgroupMount struct {
	version int
	root    string // the cgroup the mount shows at point
	point   string // where it is mounted
}

// dirOf returns where the cgroup at path (as /proc/self/cgroup names it)
// is under the mount, and whether the mount shows it at all.
func (m cgroupMount) dirOf(path string) (string, bool) {
	rel, err := filepath.Rel(m.root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.Join(m.point, rel), true
}

// readCgroupPaths reads /proc/self/cgroup: the path of the process's
// cgroup in the v2 hierarchy (line "0::PATH") and in the v1 hierarchy of
// the cpu controller ("ID:cpu,cpuacct:PATH"), keyed by version.
func readCgroupPaths(file string) (map[int]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	paths := map[int]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			paths[2] = parts[2]
		case hasItem(parts[1], "cpu"):
			paths[1] = parts[2]
		}
	}
	return paths, s.Err()
}

// readCgroupMounts reads /proc/self/mountinfo for the cgroup hierarchies
// that may carry the cpu controller. A line is "ID PARENT DEV ROOT POINT
// OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".
func readCgroupMounts(file string) ([]cgroupMount, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mounts []cgroupMount
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) {
			continue
		}
		m := cgroupMount{root: unescapeMount(fields[3]), point: unescapeMount(fields[4])}
		switch fstype := fields[sep+1]; {
		case fstype == "cgroup2":
			m.version = 2
		case fstype == "cgroup" && sep+3 < len(fields) && hasItem(fields[sep+3], "cpu"):
			m.version = 1
		default:
			continue
		}
		mounts = append(mounts, m)
	}
	return mounts, s.Err()
}

// readCPULimit reads the CPU bandwidth limit set on the cgroup directory
// dir, in CPUs; has is false when it sets none.
func readCPULimit(dir string, version int) (limit float64, has bool) {
	var quota, period float64
	if version == 2 {
		b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
		if err != nil {
			return 0, false
		}
		f := strings.Fields(string(b)) // "max 100000" or "QUOTA PERIOD"
		if len(f) != 2 || f[0] == "max" {
			return 0, false
		}
		quota, _ = strconv.ParseFloat(f[0], 64)
		period, _ = strconv.ParseFloat(f[1], 64)
	} else {
		quota = readNumber(filepath.Join(dir, "cpu.cfs_quota_us")) // -1: none
		period = readNumber(filepath.Join(dir, "cpu.cfs_period_us"))
	}
	if quota <= 0 || period <= 0 {
		return 0, false
	}
	return quota / period, true
}

// readNumber reads a file holding one number; 0 if it cannot.
func readNumber(file string) float64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return 0
	}
	return v
}

// hasItem says whether the comma-separated list has item.
func hasItem(list, item string) bool {
	for _, s := range strings.Split(list, ",") {
		if s == item {
			return true
		}
	}
	return false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
