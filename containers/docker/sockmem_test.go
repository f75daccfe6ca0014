package docker

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"
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

// socketsAtOnce is a student's C program that makes its TCP sockets first
// thing, before the agent could bound its container's socket buffers
// (boundTCP comes after the start), then connects and fills them as
// socketFill does.
const socketsAtOnce = `
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
	enum { N = 150 };
	int ls[N], cs[N];
	// One pair every 200 us from its start: those made before the bound
	// escape it, whenever it comes.
	for (int i = 0; i < N; i++) { ls[i] = socket(AF_INET, SOCK_STREAM, 0); cs[i] = socket(AF_INET, SOCK_STREAM, 0); usleep(200); }
	usleep(100000);
	static char buf[65536];
	for (int i = 0; i < N; i++) {
		struct sockaddr_in a; socklen_t l = sizeof a; memset(&a, 0, sizeof a);
		a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(ls[i], (void *)&a, sizeof a); listen(ls[i], 1); getsockname(ls[i], (void *)&a, &l);
		connect(cs[i], (void *)&a, sizeof a);
		if (accept(ls[i], 0, 0) < 0) break;
		fcntl(cs[i], F_SETFL, O_NONBLOCK);
		while (write(cs[i], buf, sizeof buf) > 0) {}
	}
	printf("filled\n"); fflush(stdout);
	char c; return read(0, &c, 1) < 0;
}
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
	for _, tc := range []struct{ name, proto, prog string }{
		{"grading-tcp", "tcp", "python3 student/fill.py tcp 100"},
		{"student-tcp", "tcp", "run_student --memory 32 python3 student/fill.py tcp 100"},
		{"grading-udp", "udp", "python3 student/fill.py udp 40"},
		// Its sockets made before the bound: the command waits for it.
		{"student-tcp-at-once", "tcp", "run_student --memory 32 ./student/atonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proto := map[string]string{"tcp": "TCP:", "udp": "UDP:"}[tc.proto]
			run := `#!/bin/bash
sockmem() { awk '$1 == "` + proto + `" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i+1) }' /proc/net/sockstat; }
cp fill.py student/
gcc -O2 -static -o student/atonce atonce.c 2>/dev/null || gcc -O2 -o student/atonce atonce.c || exit 1
before=$(sockmem)
mkfifo /tmp/hold
for i in 1 2; do ` + tc.prog + ` </tmp/hold >/tmp/out$i 2>&1 & done
exec 3>/tmp/hold
for _ in $(seq 200); do [ "$(cat /tmp/out* | grep -c filled)" = 2 ] && break; sleep 0.1; done
during=$(sockmem)
exec 3>&-
wait
feedback-msg -m "filled=$(cat /tmp/out* | grep -c filled) mib=$(( (during - before) * 4096 >> 20 ))"
feedback-result success
`
			job := newJob(r, task(t, map[string]string{"run": run, "fill.py": socketFill, "atonce.c": socketsAtOnce}), nil)
			job.Limits.Memory = memory
			res, _ := runJob(t, r, job)
			m := regexp.MustCompile(`filled=(\d+) mib=(-?\d+)`).FindStringSubmatch(res.Result.Text)
			if m == nil {
				t.Fatalf("result %s %q", res.Result.Status, res.Result.Text)
			}
			switch m[1] {
			case "0":
				// No socket filled: nothing measured (a program that
				// failed), and a test that would pass whatever the bound.
				t.Fatalf("no program filled its sockets: %q", res.Result.Text)
			case "1":
				t.Logf("only 1 of 2 programs filled its sockets (the job's memory held the other back)")
			}
			if mib, _ := strconv.Atoi(m[2]); mib >= memory {
				t.Errorf("the job's %s sockets held %d MiB of the host's memory, over its limit of %d MiB", tc.proto, mib, memory)
			}
		})
	}
}

// TestRunStudent_CommandWaitsForTheSocketBound: on cgroup v1 a student's
// command starts only once its container's socket buffers are bounded
// (boundTCP, after the start), even when the bound comes late (a loaded
// host's daemon answers the start tens of milliseconds after the process
// runs): sockets made before it are never charged, and a C program that
// made its sockets first thing held 570 MiB of TCP buffers from a 32 MiB
// student container. The command reads its bound first thing.
func TestRunStudent_CommandWaitsForTheSocketBound(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{tcpBoundLate: 500 * time.Millisecond})
	if !r.opts.cgroupV1 {
		t.Skip("cgroup v2 charges socket buffers to the memory limit")
	}
	run := studentRun(`out "bound=$(run_student --memory 32 cat /sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes)"`)
	job := newJob(r, task(t, map[string]string{"run": run}), nil)
	res, _ := runJob(t, r, job)
	if want := fmt.Sprintf("bound=%d\n", tcpMemory(32<<20)); res.Result.Text != want {
		t.Errorf("got %q, want %q", res.Result.Text, want)
	}
}
