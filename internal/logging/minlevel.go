package logging

import (
	"context"
	"log/slog"
)

// AtLeast returns log with every record below min dropped, whatever the
// level log itself was made with. It quiets chatty libraries (the embedded
// nats-server announces itself in some thirty notices) without changing
// the level of ingo's own logs.
func AtLeast(log *slog.Logger, min slog.Level) *slog.Logger {
	return slog.New(minLevel{log.Handler(), min})
}

// minLevel drops records below a level before its handler sees them.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
