package docker

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// imageToolsRun is a run file that uses each tool INGInious' base image
// gives every run file; each check prints "name: output" into the report
// that becomes the feedback message.
const imageToolsRun = `#!/bin/bash
cd /tmp
check() {
	local name=$1 out
	out=$(bash -c "$2" 2>&1) || out="exit $?: $out"
	printf '%s: %s\n' "$name" "$out" >>/tmp/report
}
check user 'echo "$(id -un) $(id -u) $HOME"'
check bc "bc <<< '2+2'; echo 'scale=3; 1/8' | bc"
check jq "echo '{\"a\": [1, 2]}' | jq -c '.a | add'"
check zip 'echo zipped > f.txt && zip -q z.zip f.txt && unzip -p z.zip f.txt'
check file 'file -b --mime-type z.zip'
check procps 'ps -o comm= -p $$; pgrep -x bash >/dev/null && echo pgrep; free -m >/dev/null && echo free'
check curl 'echo fetched > c.txt && curl -fsS file:///tmp/c.txt'
check nano 'nano --version | head -n1 | grep -o "GNU nano"'
check net-tools 'ifconfig lo | grep -o "inet 127.0.0.1"; netstat -i >/dev/null && echo netstat'
check iproute2 'ip -4 -o addr show dev lo | grep -o "inet 127.0.0.1"'
check dnsutils 'for c in dig host nslookup; do command -v $c >/dev/null && printf "%s " $c; done; dig -v 2>&1 | cut -d" " -f1'
check openssl 'printf abc | openssl dgst -sha256 -r | cut -c1-16'
check screen 'screen -v | cut -d" " -f1-2'
check man 'man --version | cut -d" " -f1'
check ssh-keygen 'ssh-keygen -q -t ed25519 -N "" -C ingo -f /tmp/k && ssh-keygen -l -f /tmp/k.pub | cut -d" " -f1,3-'
check python 'python3 -c "
import yaml, jinja2, msgpack, zmq, IPython, timeout_decorator, inginious.feedback
print(yaml.safe_load(\"a: [1, 2]\"), jinja2.Template(\"hi {{ n }}\").render(n=3), msgpack.unpackb(msgpack.packb([1, \"x\"])))
"'
check zmq 'python3 -c "
import zmq
ctx = zmq.Context()
a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
a.bind(\"inproc://t\"); b.connect(\"inproc://t\")
b.send(b\"pong\"); print(a.recv().decode())
"'
check timeout_decorator 'python3 -c "
import time, timeout_decorator
@timeout_decorator.timeout(1)
def slow():
    time.sleep(10)
try:
    slow()
except timeout_decorator.TimeoutError:
    print(\"timed out\")
"'
check ipython 'ipython --version | cut -d. -f1; ipython3 -c "print(6 * 7)" 2>/dev/null | tail -n1'
check mypy 'printf "def f(x: int) -> int:\n    return x\nf(\"a\")\n" > t.py; mypy --cache-dir=/dev/null t.py | grep -o "incompatible type \"str\"; expected \"int\""'
check locale 'LC_ALL=en_US.UTF-8 locale charmap 2>&1'
check yaml-load 'python3 -c "
import yaml
print(yaml.load(\"a: [1, 2]\"), list(yaml.load_all(\"a: 1\n---\nb: 2\")), yaml.load(\"c: 3\", yaml.SafeLoader))
" 2>&1'
check yaml-name 'python3 -c "
import yaml
EXPECTED = 42
print(yaml.load(\"t: !!python/tuple [1, 2]\"))
try:
    print(\"read\", yaml.load(\"a: !!python/name:__main__.EXPECTED\"))
except yaml.YAMLError as e:
    print(\"refused\")
" 2>&1'
check unittest-tb 'python3 -c "
import unittest
class T(unittest.TestCase):
    def test(self):
        self.assertEqual(1, 2)
class R(unittest.TestResult):
    def addFailure(self, test, err):
        tb = err[2]
        while tb and self._is_relevant_tb_level(tb):
            tb = tb.tb_next
        print(\"levels\", self._count_relevant_tb_levels(tb))
T(\"test\").run(R())
" 2>&1'
check sigstksz 'printf "#define _GNU_SOURCE\n#include <signal.h>\n#include <stdio.h>\nstatic char stack[SIGSTKSZ];\nint main(void) { stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack}; printf(\"%%d\", sigaltstack(&ss, 0)); return 0; }\n" > s.c && gcc -o s s.c && ./s'
feedback-result success
feedback-msg -m "$(cat /tmp/report)"
`

// TestImageTools: the default image has INGInious' base image tool set
// (docs/images.md), usable by the worker user in a grading container
// without network.
func TestImageTools(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	job := newJob(r, task(t, map[string]string{"run": imageToolsRun}), nil)
	job.Limits = messages.Limits{Time: 60, HardTime: 120, Memory: 512, Processes: 128, Output: 1 << 20, Disk: 64}
	res, _ := runJob(t, r, job)
	want := []string{
		"user: worker 4242 /task",
		"bc: 4\n.125",
		"jq: 3",
		"zip: zipped",
		"file: application/zip",
		"procps: bash\npgrep\nfree",
		"curl: fetched",
		"nano: GNU nano",
		"net-tools: inet 127.0.0.1\nnetstat",
		"iproute2: inet 127.0.0.1",
		"dnsutils: dig host nslookup DiG",
		"openssl: ba7816bf8f01cfea",
		"screen: Screen version",
		"man: man",
		"ssh-keygen: 256 ingo (ED25519)",
		"python: {'a': [1, 2]} hi 3 [1, 'x']",
		"zmq: pong",
		"timeout_decorator: timed out",
		"ipython: 8\n42",
		`mypy: incompatible type "str"; expected "int"`,
		// Run files export it before javac (INGInious' image has it).
		"locale: UTF-8",
		// Run files written for PyYAML 5 (37 of UCL-INGI's LSINF1252)
		// call yaml.load without a Loader.
		"yaml-load: {'a': [1, 2]} [{'a': 1}, {'b': 2}] {'c': 3}",
		// Less !!python/name:, with which a student's YAML that a run
		// file echoes back read the run file's globals.
		"yaml-name: {'t': (1, 2)}\nrefused",
		// Result classes of courses written for Python 3.8 (UCL-INGI's
		// ExercicesGit) call what 3.11 removed.
		"unittest-tb: levels 1",
		// C written for INGInious' glibc 2.28 (UCL-INGI's CTester) sizes
		// an array by SIGSTKSZ, which glibc 2.34 made sysconf's.
		"sigstksz: 0",
	}
	if res.Result.Status != messages.StatusSuccess {
		t.Fatalf("status %s %q, want success", res.Result.Status, res.Result.Text)
	}
	if got := strings.TrimSpace(res.Result.Text); got != strings.Join(want, "\n") {
		t.Errorf("tool report:\n%s\n\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
