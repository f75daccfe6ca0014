package security

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// record is what one attack tried and saw, reported as one line.
type record struct {
	mu    sync.Mutex
	parts []string
}

func (r *record) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parts = append(r.parts, fmt.Sprintf(format, args...))
}

func (r *record) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.parts) == 0 {
		return "(nothing recorded)"
	}
	return strings.Join(r.parts, "; ")
}

// attack runs fn as the subtest name, and reports "what: what happened"
// whatever the end (a t.Fatal included). The subtest fails when the
// attack succeeded (or could not be tried); its line then starts with
// "FAILED", so that the report says it too.
func attack(t *testing.T, name, what string, fn func(t *testing.T, r *record)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		r := &record{}
		defer func() {
			line := what + ": " + r.String()
			if t.Failed() {
				line = "FAILED " + line
			}
			report(t, line)
		}()
		fn(t, r)
	})
}

var (
	// reportMu keeps each line whole in the file.
	reportMu sync.Mutex
	// reported counts the lines reported.
	reported atomic.Int64
)

// report prints a line to the test log and, when INGO_SECURITY_REPORT
// names a file, appends it there (.ci/run prints it).
func report(t *testing.T, line string) {
	t.Helper()
	t.Log(line)
	reported.Add(1)
	path := os.Getenv("INGO_SECURITY_REPORT")
	if path == "" {
		return
	}
	reportMu.Lock()
	defer reportMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("security report: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s: %s\n", t.Name(), line)
}
