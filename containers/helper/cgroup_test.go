package helper

import (
	"os"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// A student container's helper finds its own cgroup's OOM kill count under
// cgroup v1 and v2, in a private cgroup namespace or the host's.
func TestOwnOOMKills(t *testing.T) {
	const id = "/docker/0123456789abcdef"
	v1 := "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"
	v2 := "low 0\nhigh 0\nmax 41\noom 3\noom_kill 3\noom_group_kill 0\n"
	for _, tt := range []struct {
		name  string
		files map[string]string // path under the root -> content
		want  int64
	}{
		{"v1, own cgroup mounted", map[string]string{
			"proc/self/cgroup":                        "12:pids:" + id + "\n5:memory:" + id + "\n1:name=systemd:" + id + "\n",
			"sys/fs/cgroup/memory/memory.oom_control": v1}, 2},
		{"v1, memory beside another controller", map[string]string{
			"proc/self/cgroup": "4:cpu,memory:" + id + "\n",
			"sys/fs/cgroup/memory" + id + "/memory.oom_control": v1}, 2},
		{"v2, private namespace", map[string]string{
			"proc/self/cgroup":            "0::/\n",
			"sys/fs/cgroup/memory.events": v2}, 3},
		{"v2, host namespace", map[string]string{
			"proc/self/cgroup":                      "0::" + id + "\n",
			"sys/fs/cgroup" + id + "/memory.events": v2,
			"sys/fs/cgroup/memory.events":           "oom_kill 9\n"}, 3},
		{"v2, none yet", map[string]string{
			"proc/self/cgroup":            "0::/\n",
			"sys/fs/cgroup/memory.events": "oom 0\noom_kill 0\n"}, 0},
		{"a kernel without the count", map[string]string{
			"proc/self/cgroup":                        "5:memory:/\n",
			"sys/fs/cgroup/memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n"}, -1},
		{"no cgroup mounted", map[string]string{"proc/self/cgroup": "0::/\n"}, -1},
		{"nothing at all", nil, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			testutil.WriteTree(t, root, tt.files)
			c := openOOMCounter(root)
			if got := c.kills(); got != tt.want {
				t.Errorf("kills = %d, want %d", got, tt.want)
			}
			if c == nil {
				return
			}
			// Read again, the count having changed: what the student
			// helper does after its command died, when the container's
			// memory may be full, so without allocating.
			if err := os.WriteFile(c.f.Name(), []byte("oom 7\noom_kill 7\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := c.kills(); got != 7 {
				t.Errorf("kills after a change = %d, want 7", got)
			}
			if a := testing.AllocsPerRun(100, func() { c.kills() }); a != 0 {
				t.Errorf("kills allocates %v times, want none", a)
			}
		})
	}
}
