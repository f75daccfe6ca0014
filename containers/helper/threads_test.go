package helper

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
)

func TestReserveThreads(t *testing.T) {
	for max, want := range map[int]int{0: 16, 512: 16, 64: 16, 40: 10, 16: 4, 3: 0} {
		if got := threadsToReserve(max); got != want {
			t.Errorf("threadsToReserve(%d) = %d, want %d", max, got, want)
		}
	}
	for name, files := range map[string]map[string]string{
		"v1": {"sys/fs/cgroup/pids/pids.max": "64\n"},
		"v2": {"sys/fs/cgroup/pids.max": "64\n"},
		"v2, host namespace": {"proc/self/cgroup": "0::/docker/x\n", "sys/fs/cgroup/docker/x/pids.max": "64\n",
			"sys/fs/cgroup/pids.max": "max\n"},
		"no max":  {"sys/fs/cgroup/pids.max": "max\n"},
		"nothing": nil,
	} {
		root := t.TempDir()
		testutil.WriteTree(t, root, files)
		want := 64
		if name == "no max" || name == "nothing" {
			want = 0
		}
		if got := pidsMax(root); got != want {
			t.Errorf("%s: pidsMax = %d, want %d", name, got, want)
		}
	}
	// The threads are there afterwards, idle.
	reserveThreads(t.TempDir())
	if n := threads(t); n < 16 {
		t.Errorf("%d threads after reserving 16", n)
	}
}

// threads is this process's thread count.
func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Skip("no thread count in /proc/self/status")
	return 0
}
