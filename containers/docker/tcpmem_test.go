package docker

import (
	"regexp"
	"strconv"
	"testing"
)

// tcpFill is a student's program that opens loopback TCP connections
// (argv[1] of them) and fills their buffers without reading, then waits
// for its stdin to end: the kernel's TCP memory it holds meanwhile.
const tcpFill = `
import os, socket, sys
keep = []
for _ in range(int(sys.argv[1])):
    l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
    a = socket.create_connection(l.getsockname()); b, _ = l.accept(); l.close()
    a.setblocking(False)
    try:
        while True:
            a.send(b"x" * 65536)
    except (BlockingIOError, OSError):
        pass
    keep.append((a, b))
print("filled", flush=True)
os.read(0, 1)
`

// TestRun_TCPBuffersWithinTheJobsMemory: what a job's loopback TCP
// connections hold stays within its memory limit, in the grading
// container and in a student container. cgroup v1 charges TCP buffers to
// no memory limit unless told to (boundTCP): before, two processes of a
// 64 MiB job held about 280 MiB of the host's memory this way, and more
// of them could starve every TCP socket of the host. The kernel's TCP
// memory (/proc/net/sockstat, host-wide, in pages) is read before and
// while the connections are full.
func TestRun_TCPBuffersWithinTheJobsMemory(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	const memory = 64
	for _, tc := range []struct{ name, runner string }{
		{"grading", ""},
		{"student", "run_student --memory 32 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := `#!/bin/bash
tcpmem() { awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i+1) }' /proc/net/sockstat; }
cp fill.py student/
before=$(tcpmem)
mkfifo /tmp/hold
for i in 1 2; do ` + tc.runner + `python3 student/fill.py 100 </tmp/hold >/tmp/out$i 2>&1 & done
exec 3>/tmp/hold
for _ in $(seq 200); do [ "$(cat /tmp/out* | grep -c filled)" = 2 ] && break; sleep 0.1; done
during=$(tcpmem)
exec 3>&-
wait
feedback-msg -m "filled=$(cat /tmp/out* | grep -c filled) tcpmib=$(( (during - before) * 4096 >> 20 ))"
feedback-result success
`
			job := newJob(r, task(t, map[string]string{"run": run, "fill.py": tcpFill}), nil)
			job.Limits.Memory = memory
			res, _ := runJob(t, r, job)
			m := regexp.MustCompile(`filled=(\d+) tcpmib=(-?\d+)`).FindStringSubmatch(res.Result.Text)
			if m == nil {
				t.Fatalf("result %s %q", res.Result.Status, res.Result.Text)
			}
			if m[1] != "2" {
				t.Logf("only %s of 2 programs filled their connections (the job's memory held them back)", m[1])
			}
			if mib, _ := strconv.Atoi(m[2]); mib >= memory {
				t.Errorf("the job's TCP connections held %d MiB of the host's memory, over its limit of %d MiB", mib, memory)
			}
		})
	}
}
