package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/ingo-grader/ingo/internal/termsafe"
)

// Formats and levels accepted by New, in the order help texts list them.
var (
	Formats = []string{"text", "json"}
	Levels  = []string{"debug", "info", "warn", "error"}
)

// New returns a logger writing to w at the given level ("debug", "info",
// "warn", "error") and format ("text" for people, "json" for collectors).
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		// The text handler quotes control characters; the JSON one
		// leaves DEL, C1 and bidirectional controls as they are, and
		// logs hold names and texts from web apps and students.
		return slog.New(slog.NewJSONHandler(termsafe.Writer(w), opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// ParseLevel reads a level name. "warning" is accepted for "warn" because
// people type it.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: use one of %s", s, strings.Join(Levels, ", "))
}
