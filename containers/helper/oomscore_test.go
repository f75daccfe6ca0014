package helper

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// A command started by startAsOOMVictim has the raised score from its first
// instruction, and so has what it forks at once; the helper's own score
// is back where it was after the start.
func TestStartAsOOMVictim(t *testing.T) {
	own := func() string {
		b, err := os.ReadFile("/proc/self/oom_score_adj")
		if err != nil {
			t.Skipf("no oom_score_adj here: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	before := own()
	keepOwnOOMScore("")
	var out bytes.Buffer
	// The shell reads its own score and forks a reader at once: before,
	// the score written after the fork could come too late for both.
	cmd := exec.Command("/bin/sh", "-c", "cat /proc/self/oom_score_adj; read s </proc/$$/oom_score_adj; echo $s")
	cmd.Stdout = &out
	if err := startAsOOMVictim(cmd.Start); err != nil {
		t.Fatal(err)
	}
	if got := own(); got != before {
		t.Errorf("own score %s after the start, want %s again", got, before)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	want := "500\n500\n"
	if b, err := strconv.Atoi(before); err == nil && b > 500 {
		want = before + "\n" + before + "\n" // a container scored higher keeps it
	}
	if out.String() != want {
		t.Errorf("the command's scores %q, want %q", out.String(), want)
	}
}
