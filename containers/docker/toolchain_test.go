package docker

import (
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const toolchainRun = `#!/bin/bash
set -e
cat > Hello.java <<'J'
public class Hello { public static void main(String[] a) { System.out.println("java says " + a[0]); } }
J
javac Hello.java
out=$(java -Xmx64m -Xss512k Hello hi)
cat > t.c <<'C'
#include <CUnit/Basic.h>
static void add(void) { CU_ASSERT_EQUAL(1 + 1, 2); }
int main(void) {
	CU_initialize_registry();
	CU_add_test(CU_add_suite("s", 0, 0), "add", add);
	CU_basic_set_mode(CU_BRM_SILENT);
	CU_basic_run_tests();
	int failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed;
}
C
gcc t.c -o t -lcunit
./t
g++ --version >/dev/null; python3 -c 'import inginious.feedback'
feedback-result success
feedback-msg -m "$out, cunit ok, JAVA_HOME=$JAVA_HOME"
`

// TestToolchain: the toolchain image compiles and runs Java and CUnit
// tests as INGInious' Java and C courses do.
func TestToolchain(t *testing.T) {
	t.Parallel()
	testutil.RequireImage(t, "ingo/env-toolchain")
	r := newTestRuntime(t, Options{})
	job := newJob(r, task(t, map[string]string{"run": toolchainRun}), nil)
	job.Desc.Environment = "toolchain"
	job.Limits = messages.Limits{Time: 60, HardTime: 120, Memory: 768, Processes: 512, Output: 1 << 20, Disk: 128}
	res, _ := runJob(t, r, job)
	want := "java says hi, cunit ok, JAVA_HOME=/usr/lib/jvm/default-java"
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
		t.Errorf("got %s %q, want success %q", res.Result.Status, res.Result.Text, want)
	}
}
