package journal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/messages"
)

// The journal's subjects lie in a space of their own, a random word in
// the streams' subjects (messages.Subjects.JournalAllIn):
//
//	<prefix>.journal.<space>.batch.v1   the batches
//	<prefix>.jobinputs.v1.<space>       their descriptions
//
// Why: NATS stores in a stream whatever is published on its subjects, the
// server's own answers included, and a JetStream answer goes to whatever
// reply subject its requester named, past the requester's permissions.
// With fixed subjects any frontend or agent could have acknowledgements
// (about 100 bytes each, as fast as it asks) stored in the journal until
// it refused new jobs for everybody (Full), or in the descriptions'
// stream, which has no bound of its own, until the disk was full. The
// space is read from the stream's configuration, which only backends may
// read (package natsauth: not even admins), so nobody else can name a
// subject the streams keep. Errors name the streams, never a subject.
//
// The first backend makes the space with the streams (a second that made
// another at the same moment is refused the stream's creation, and reads
// the first's). A journal of an older layout (its subjects
// <prefix>.journal.> and <prefix>.jobinputs.v1) gets one at its next
// open, and what it holds is still read (replay.go knows the older
// subjects). Two backends that open such a journal at the same moment may
// each move it; the later update wins. The active backend opens the
// journal again once it holds the lease, so it reads the space that won;
// should the other lead with its own, its stores fail (no stream takes
// their subject) for the store's retries, about two minutes, and it ends
// with ErrJournalFailed, nothing lost: its next start reads the space.
// An older backend that merely starts moves the streams back to its
// subjects (docs/deployment.md: upgrade every backend together).

// spacePattern is a space: a letter, then 32 hex digits.
var spacePattern = regexp.MustCompile(`^s[0-9a-f]{32}$`)

// newSpace makes a space.
func newSpace() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "s" + hex.EncodeToString(b[:])
}

// spaceOf is the space of the journal stream's subjects, "" for an older
// layout's.
func spaceOf(subj messages.Subjects, subjects []string) string {
	head, tail := subj.Prefix+"."+messages.SuffixJournal+".", ".>"
	for _, s := range subjects {
		if space, ok := strings.CutPrefix(s, head); ok {
			if space, ok = strings.CutSuffix(space, tail); ok && spacePattern.MatchString(space) {
				return space
			}
		}
	}
	return ""
}

// openStream creates the journal stream of cfg (its subjects those of
// its space), or updates it: with the space it has, or, for an older
// layout's, with a new one.
func openStream(ctx context.Context, js jetstream.JetStream, subj messages.Subjects, cfg jetstream.StreamConfig) (jetstream.Stream, string, error) {
	for attempt := 0; ; attempt++ {
		space, exists, err := findSpace(ctx, js, subj)
		if err != nil {
			return nil, "", err
		}
		cfg.Subjects = []string{subj.JournalAllIn(space)}
		var s jetstream.Stream
		if exists {
			s, err = js.CreateOrUpdateStream(ctx, cfg)
		} else {
			// Not an update: one over a stream another backend made
			// since findSpace looked would replace its space.
			s, err = js.CreateStream(ctx, cfg)
		}
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && attempt < 3 {
			continue // made meanwhile: read its space
		}
		return s, space, err
	}
}

// findSpace reads the journal stream's space, or makes one for a stream
// that does not exist yet (exists false) or has an older layout.
func findSpace(ctx context.Context, js jetstream.JetStream, subj messages.Subjects) (space string, exists bool, err error) {
	s, err := js.Stream(ctx, subj.JournalStream())
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return newSpace(), false, nil
	case err != nil:
		return "", false, fmt.Errorf("journal: read stream %s: %w", subj.JournalStream(), err)
	}
	if space := spaceOf(subj, s.CachedInfo().Config.Subjects); space != "" {
		return space, true, nil
	}
	return newSpace(), true, nil
}

// isBatch says whether a message of the journal stream on subject is a
// batch: of this journal's space, of another's (two backends that made
// one at once, above), or of the layout before spaces. Anything else is
// of the layout before batches, a record on its job's subject.
func (j *Journal) isBatch(subject string) bool {
	if subject == j.batches || subject == j.subj.JournalBatch() {
		return true
	}
	rest, ok := strings.CutPrefix(subject, j.subj.Journal(""))
	if !ok {
		return false
	}
	space, ok := strings.CutSuffix(rest, "."+messages.SuffixJournalBatch)
	return ok && spacePattern.MatchString(space)
}
