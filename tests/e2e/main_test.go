package e2e

import (
	"os"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestMain keeps every log line the suite's components write, at debug
// level, and fails the suite if any secret it used appears there: NATS
// seeds and JWTs, SSH passwords (DESIGN.md §8).
func TestMain(m *testing.M) {
	testutil.CaptureLogs()
	os.Exit(testutil.CheckNoLeaks(m.Run()))
}
