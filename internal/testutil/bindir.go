package testutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BinaryDir makes a directory for the programs a test binary builds, named
// after prefix and this process's pid, in the system's temp dir. A test
// binary has no end of its own to remove it at (TestMain is each
// package's), so each call first removes the directories of prefix whose
// process is gone and which are over staleAfter old: what the runs before
// left, tens of MB each, does not pile up. The age spares a live run in
// another pid namespace sharing the temp dir, whose pid means nothing
// here.
func BinaryDir(prefix string) (string, error) {
	tmp := os.TempDir()
	old, _ := filepath.Glob(filepath.Join(tmp, prefix+"p*-*"))
	for _, d := range old {
		rest := strings.TrimPrefix(filepath.Base(d), prefix+"p")
		pid, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '-'))])
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		if fi, err := os.Stat(d); err != nil || time.Since(fi.ModTime()) < staleAfter {
			continue
		}
		_ = os.RemoveAll(d)
	}
	return os.MkdirTemp(tmp, fmt.Sprintf("%sp%d-", prefix, os.Getpid()))
}

// staleAfter is longer than any test run (go test's -timeout is 20m).
const staleAfter = time.Hour

// processAlive says whether a process pid exists (EPERM: it does, not
// ours).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
