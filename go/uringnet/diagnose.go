package uringnet

import (
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/uringnet/uringnet/go/internal/shim"
)

// Report says what this process would get from io_uring; see Diagnose.
type Report struct {
	Kernel     string          // uname release
	Disabled   string          // kernel.io_uring_disabled, or "" if unreadable
	Err        error           // Available(): nil when Listen uses io_uring
	SetupFlags []string        // ring setup flags the engine gets
	Features   []string        // IORING_FEAT_* of interest, and INCREMENTAL_BUFFERS: recv buffers shared by small messages (Linux 6.16+)
	Ops        map[string]bool // opcodes the engine uses: supported or not
	GOMAXPROCS int             // as now
	CPUs       int             // CPUs the process may use: affinity, capped by the cgroup's CPU limit
	Rings      int             // rings a listener gets by default at this GOMAXPROCS and CPUs
}

// Diagnose reports the kernel, whether io_uring is usable and why not, and
// which features the engine will use. cmd/uringcheck prints it.
func Diagnose() Report {
	procs := runtime.GOMAXPROCS(0)
	cpus := usableCPUs()
	rep := Report{Err: Available(), Ops: map[string]bool{}, GOMAXPROCS: procs, CPUs: cpus, Rings: defaultRings(procs, cpus)}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		var b strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b.WriteByte(byte(c))
		}
		rep.Kernel = b.String()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); err == nil {
		rep.Disabled = strings.TrimSpace(string(b))
	}
	info, err := shim.Describe()
	if err != nil {
		return rep
	}
	for bit, name := range map[uint32]string{
		shim.SetupSingleIssuer: "SINGLE_ISSUER", shim.SetupDeferTR: "DEFER_TASKRUN", shim.SetupCoopTaskrun: "COOP_TASKRUN",
	} {
		if info.SetupFlags&bit != 0 {
			rep.SetupFlags = append(rep.SetupFlags, name)
		}
	}
	for bit, name := range map[uint32]string{
		shim.FeatNoDrop: "NODROP", shim.FeatFastPoll: "FAST_POLL", shim.FeatExtArg: "EXT_ARG",
	} {
		if info.Features&bit != 0 {
			rep.Features = append(rep.Features, name)
		}
	}
	if info.BufInc {
		rep.Features = append(rep.Features, "INCREMENTAL_BUFFERS")
	}
	sort.Strings(rep.SetupFlags)
	sort.Strings(rep.Features)
	for op, name := range shim.OpNames {
		rep.Ops[name] = info.Ops[op]
	}
	return rep
}
