package testutil

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// CountingLogger is a logger that writes nothing and counts the records it
// is handed, at every level: tests of what a flood of bad input costs in
// log lines read the count.
func CountingLogger() (*slog.Logger, *atomic.Int64) {
	n := new(atomic.Int64)
	return slog.New(countingHandler{n}), n
}

type countingHandler struct{ n *atomic.Int64 }

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(context.Context, slog.Record) error {
	h.n.Add(1)
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }
