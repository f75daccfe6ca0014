package helper

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ingo-grader/ingo/containers/channel"
)

// TestStudentSpecNotReadableByTheStudent: the student's code reads
// neither from the command line of its helper (world-readable, as
// /proc/1/cmdline in a container) nor from its own environment the spec
// of its container, whose ssh_student setup and teardown scripts are the
// task's (an SSH session read them in /proc/1/cmdline). The spec comes in
// StudentSpecEnv; the helper's environment is not readable by its uid
// once it is not dumpable. As root, the helper runs as nobody, as the
// student's code does, so that the kernel's check is the one a container
// makes.
func TestStudentSpecNotReadableByTheStudent(t *testing.T) {
	const secret = "teardown-SECRET-answer-1234"
	c := newContainer(t, job(nil, 1<<20))
	probe := `tr '\0' ' ' < /proc/$PPID/cmdline; echo; cat /proc/$PPID/environ 2>/dev/null | tr '\0' ' '; echo; env; echo ran`
	spec, err := json.Marshal(channel.StudentSpec{Argv: []string{"sh", "-c", probe}, TeardownScript: secret, SetupScript: secret})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helperBin, "student")
	cmd.Env = append(c.env(), StudentSpecEnv+"="+string(spec))
	if os.Geteuid() == 0 {
		const nobody = 65534
		err := filepath.WalkDir(c.root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Chown(p, nobody, nobody)
		})
		if err != nil {
			t.Fatal(err)
		}
		// The test's temporary folders (0700) must let nobody through.
		for d := filepath.Dir(c.root); strings.HasPrefix(d, filepath.Clean(os.TempDir())+"/"); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// And the folder of the test binaries.
		if err := os.Chmod(filepath.Dir(helperBin), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), "ran") {
		t.Fatalf("ingo-helper student with its spec in %s: %v\nstdout %q\nstderr %.2000s", StudentSpecEnv, err, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), secret) || strings.Contains(stdout.String(), StudentSpecEnv) {
		t.Errorf("the student's command read its container's spec:\n%s", stdout.String())
	}
}
