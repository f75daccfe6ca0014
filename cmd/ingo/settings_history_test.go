package main

import (
	"testing"

	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/internal/config"
)

// backend.history-max-archive defaults to 512 KiB through its declared
// default, and 0 reaches the history as 0 (keep no archive).
func TestLoad_HistoryMaxArchive(t *testing.T) {
	for _, tc := range []struct {
		env  string // "" for unset
		want int64
	}{
		{"", 512 << 10},
		{"0", 0},
		{"1MiB", 1 << 20},
	} {
		t.Run("INGO_BACKEND_HISTORY_MAX_ARCHIVE="+tc.env, func(t *testing.T) {
			isolate(t)
			if tc.env != "" {
				t.Setenv(config.EnvName("backend.history-max-archive"), tc.env)
			}
			c, _, err := schema.Load(config.Source{})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Backend.HistoryMaxArchive; got != tc.want {
				t.Errorf("backend.history-max-archive = %d, want %d", got, tc.want)
			}
		})
	}
	if history.DefaultMaxArchive != 512<<10 {
		t.Errorf("history.DefaultMaxArchive = %d, docs/configuration.md says 512KiB", history.DefaultMaxArchive)
	}
}
