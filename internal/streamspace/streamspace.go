package streamspace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsconn"
)

// pattern is a space: a letter, then 32 hex digits.
var pattern = regexp.MustCompile(`^s[0-9a-f]{32}$`)

// New makes a space.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "s" + hex.EncodeToString(b[:])
}

// Valid says whether s is a space.
func Valid(s string) bool { return pattern.MatchString(s) }

// Of is the space among subjects: the token after head in the first of
// them that has one; "" when none has (an older layout).
func Of(subjects []string, head string) string {
	for _, s := range subjects {
		rest, ok := strings.CutPrefix(s, head)
		if !ok {
			continue
		}
		token, _, _ := strings.Cut(rest, ".")
		if Valid(token) {
			return token
		}
	}
	return ""
}

// Current reads the space stream has now, "" for none: the one to store
// in once a store finds no stream for the subjects of the space it had
// (another process moved an older layout's stream at the same moment, and
// its update came later).
func Current(ctx context.Context, stream jetstream.Stream, head string) (string, error) {
	info, err := stream.Info(ctx)
	if err != nil {
		return "", err
	}
	return Of(info.Config.Subjects, head), nil
}

// Open creates the stream of cfg with the subjects of a new space, or
// updates an existing one: with the space it has (found after head in its
// subjects), or with a new one for an older layout's. It returns the
// stream and its space.
func Open(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, head string,
	subjects func(space string) []string) (jetstream.Stream, string, error) {
	for attempt := 0; ; attempt++ {
		space, exists, err := find(ctx, js, cfg.Name, head)
		if err != nil {
			return nil, "", err
		}
		cfg.Subjects = subjects(space)
		var s jetstream.Stream
		err = natsconn.RetryStoreFailed(ctx, func() (err error) {
			if exists {
				s, err = js.CreateOrUpdateStream(ctx, cfg)
			} else {
				// Not an update: one over a stream another process made
				// since find looked would replace its space.
				s, err = js.CreateStream(ctx, cfg)
			}
			return err
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && attempt < 3 {
			continue // made meanwhile: read its space
		}
		if err == nil {
			// What the stream has now: another process's update may
			// have come after this one.
			if now := Of(s.CachedInfo().Config.Subjects, head); now != "" {
				space = now
			}
		}
		return s, space, err
	}
}

// find reads the space of stream name, or makes one for a stream that
// does not exist yet (exists false) or has an older layout.
func find(ctx context.Context, js jetstream.JetStream, name, head string) (space string, exists bool, err error) {
	s, err := js.Stream(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return New(), false, nil
	case err != nil:
		return "", false, fmt.Errorf("read stream %s: %w", name, err)
	}
	if space := Of(s.CachedInfo().Config.Subjects, head); space != "" {
		return space, true, nil
	}
	return New(), true, nil
}
