package testutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// BinaryDir makes a directory for the programs a test binary builds, named
// after prefix and this process's pid, in the system's temp dir. A test
// binary has no end of its own to remove it at (TestMain is each
// package's), so each call first removes the directories of prefix whose
// process is gone: what the runs before left, tens of MB each, does not
// pile up.
func BinaryDir(prefix string) (string, error) {
	tmp := os.TempDir()
	old, _ := filepath.Glob(filepath.Join(tmp, prefix+"p*-*"))
	for _, d := range old {
		rest := strings.TrimPrefix(filepath.Base(d), prefix+"p")
		pid, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '-'))])
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(d)
	}
	return os.MkdirTemp(tmp, fmt.Sprintf("%sp%d-", prefix, os.Getpid()))
}

// processAlive says whether a process pid exists (EPERM: it does, not
// ours).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
