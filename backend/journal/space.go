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
// space is read from the stream's configuration, which only backends
// and admins may read (package natsauth), so nobody else can name a
// subject the streams keep.
//
// The first backend makes the space with the streams; a journal of an
// older layout (its subjects <prefix>.journal.> and <prefix>.jobinputs.v1)
// gets one at its next open, and what it holds is still read (replay.go
// knows the older subjects). Two backends that open a journal without a
// space at the same moment may make two; the later update wins, and the
// other's first store fails (no stream takes its subject), which ends
// that backend with ErrJournalFailed: its next start reads the space.

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

// findSpace reads the journal stream's space, or makes one for a stream
// that does not exist yet or has an older layout.
func findSpace(ctx context.Context, js jetstream.JetStream, subj messages.Subjects) (string, error) {
	s, err := js.Stream(ctx, subj.JournalStream())
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return newSpace(), nil
	case err != nil:
		return "", fmt.Errorf("journal: read stream %s: %w", subj.JournalStream(), err)
	}
	if space := spaceOf(subj, s.CachedInfo().Config.Subjects); space != "" {
		return space, nil
	}
	return newSpace(), nil
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
