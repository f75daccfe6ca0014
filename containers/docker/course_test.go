package docker

import (
	"path/filepath"
	"testing"

	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/messages"
)

// TestCourseCommon: a bundle's $common folder (a course's common files,
// as the INGInious bridge packs them) is at /course/common with its
// files' modes, and not in /task; task files are executable. A copy of it
// can be edited, as a copy of INGInious' read-only mount can (before, the
// files were 0444 and so were their copies).
func TestCourseCommon(t *testing.T) {
	t.Parallel()
	if commonDir != bundle.CommonDir {
		t.Fatalf("commonDir %q, bundle.CommonDir %q", commonDir, bundle.CommonDir)
	}
	r := newTestRuntime(t, Options{})
	dir, common := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "run"), `#!/bin/bash
. /course/common/lib.sh
msg="$(greet) $(cat /course/common/data/words.txt)"
cp -r /course/common /tmp/copy && echo x >>/tmp/copy/data/words.txt && echo y >/tmp/copy/data/new.txt && msg="$msg copy-editable"
[ -e /task/\$common ] && msg="$msg in-task"
/course/common/tool.sh >/dev/null && msg="$msg exec-ok"
[ -x /course/common/lib.sh ] && msg="$msg lib-executable"
./custom.sh && msg="$msg custom-ok"
feedback-result success
feedback-msg -m "$msg"
`, 0o755)
	// Kept 0644 by git, run as ./custom.sh: INGInious makes every task
	// file executable (OpenWeek's and CS1-Java's courses rely on it).
	writeFile(t, filepath.Join(dir, "custom.sh"), "#!/bin/sh\ntrue\n", 0o644)
	writeFile(t, filepath.Join(common, "lib.sh"), "greet() { echo hello; }\n", 0o644)
	writeFile(t, filepath.Join(common, "tool.sh"), "#!/bin/sh\ntrue\n", 0o755)
	writeFile(t, filepath.Join(common, "data", "words.txt"), "from common", 0o644)
	b, err := bundle.PackCourse(dir, common, bundle.PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	job := newJob(r, b, nil)
	res, _ := runJob(t, r, job)
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != "hello from common copy-editable exec-ok custom-ok" {
		t.Errorf("got %s %q", res.Result.Status, res.Result.Text)
	}
}

// TestCourseCommonStudent: a student container has the course's
// $common/student at /course/common/student, as INGInious mounts it, and
// nothing else of $common; what follows the files on its stdin is the
// caller's. Before, student containers had no /course.
func TestCourseCommonStudent(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	dir, common := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "run"), `#!/bin/bash
out=$(printf 'from the caller\n' | run_student sh -c '
cat /course/common/student/lib/words.txt
/course/common/student/tool.sh
cp -r /course/common/student /tmp/s && echo x >>/tmp/s/lib/words.txt && echo copy-editable
[ -e /course/common/grader.sh ] && echo grader-visible
cat')
feedback-result success
feedback-msg -m "$out"
`, 0o755)
	writeFile(t, filepath.Join(common, "grader.sh"), "#!/bin/sh\necho hidden\n", 0o755)
	writeFile(t, filepath.Join(common, "student", "tool.sh"), "#!/bin/sh\necho tool ran\n", 0o755)
	writeFile(t, filepath.Join(common, "student", "lib", "words.txt"), "from common/student\n", 0o644)
	b, err := bundle.PackCourse(dir, common, bundle.PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := runJob(t, r, newJob(r, b, nil))
	want := "from common/student\ntool ran\ncopy-editable\nfrom the caller"
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
		t.Errorf("got %s %q, want success %q", res.Result.Status, res.Result.Text, want)
	}
}
