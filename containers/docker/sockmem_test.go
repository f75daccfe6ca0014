package docker

import (
	"regexp"
	"strconv"
	"testing"
)

// socketFill is a student's program that opens argv[2] loopback sockets
// of protocol argv[1] (tcp: connections, udp: a receiver with a 4 MiB
// buffer and a sender each) and fills their buffers without reading,
// then waits for its stdin to end: the kernel's socket memory it holds
// meanwhile.
const socketFill = `
import os, socket, sys
keep = []
for _ in range(int(sys.argv[2])):
    if sys.argv[1] == "tcp":
        l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
        a = socket.create_connection(l.getsockname()); b, _ = l.accept(); l.close()
        to = None
    else:
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        b.bind(("127.0.0.1", 0))
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        to = b.getsockname()
    a.setblocking(False)
    try:
        for _ in range(3000):
            if to:
                a.sendto(b"x" * 60000, to)
            else:
                a.send(b"x" * 65536)
    except OSError:
        pass
    keep.append((a, b))
print("filled", flush=True)
os.read(0, 1)
`

// TestRun_SocketBuffersWithinTheJobsMemory: what a job's loopback TCP
// connections and UDP sockets hold stays within its memory limit, in the
// grading container and in a student container. cgroup v1 charges socket
// buffers to no memory limit unless told to (boundTCP): before, two
// processes of a 64 MiB job held about 760 MiB of the host's memory in
// TCP buffers (100 connections each), 1.6 GiB in UDP ones (100 sockets
// each), and more of them could starve
// every socket of the host. The kernel's socket memory
// (/proc/net/sockstat, host-wide, in pages) is read before and while the
// buffers are full.
func TestRun_SocketBuffersWithinTheJobsMemory(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	const memory = 64
	for _, tc := range []struct{ name, proto, count, runner string }{
		{"grading-tcp", "tcp", "100", ""},
		{"student-tcp", "tcp", "100", "run_student --memory 32 "},
		{"grading-udp", "udp", "40", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proto := map[string]string{"tcp": "TCP:", "udp": "UDP:"}[tc.proto]
			run := `#!/bin/bash
sockmem() { awk '$1 == "` + proto + `" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i+1) }' /proc/net/sockstat; }
cp fill.py student/
before=$(sockmem)
mkfifo /tmp/hold
for i in 1 2; do ` + tc.runner + `python3 student/fill.py ` + tc.proto + ` ` + tc.count + ` </tmp/hold >/tmp/out$i 2>&1 & done
exec 3>/tmp/hold
for _ in $(seq 200); do [ "$(cat /tmp/out* | grep -c filled)" = 2 ] && break; sleep 0.1; done
during=$(sockmem)
exec 3>&-
wait
feedback-msg -m "filled=$(cat /tmp/out* | grep -c filled) mib=$(( (during - before) * 4096 >> 20 ))"
feedback-result success
`
			job := newJob(r, task(t, map[string]string{"run": run, "fill.py": socketFill}), nil)
			job.Limits.Memory = memory
			res, _ := runJob(t, r, job)
			m := regexp.MustCompile(`filled=(\d+) mib=(-?\d+)`).FindStringSubmatch(res.Result.Text)
			if m == nil {
				t.Fatalf("result %s %q", res.Result.Status, res.Result.Text)
			}
			if m[1] != "2" {
				t.Logf("only %s of 2 programs filled their sockets (the job's memory held them back)", m[1])
			}
			if mib, _ := strconv.Atoi(m[2]); mib >= memory {
				t.Errorf("the job's %s sockets held %d MiB of the host's memory, over its limit of %d MiB", tc.proto, mib, memory)
			}
		})
	}
}
