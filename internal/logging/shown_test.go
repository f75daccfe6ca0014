package logging_test

import (
	"bytes"
	"testing"

	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestNew_ShowsWhatOthersWrote: whatever the format, a log line of names
// and texts from others holds nothing a terminal obeys (operators read
// logs in one: docker logs, journalctl, tail).
func TestNew_ShowsWhatOthersWrote(t *testing.T) {
	t.Parallel()
	for _, format := range logging.Formats {
		var buf bytes.Buffer
		log, err := logging.New(&buf, "info", format)
		if err != nil {
			t.Fatal(err)
		}
		log.Warn("refused job "+testutil.HostileText, "course", testutil.HostileText)
		if c := testutil.Obeyed(buf.String()); c != "" {
			t.Errorf("%s: a terminal obeys %q in %q", format, c, buf.String())
		}
	}
}
