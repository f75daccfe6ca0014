package journal

import (
	"strings"

	"github.com/ingo-grader/ingo/internal/streamspace"
	"github.com/ingo-grader/ingo/messages"
)

// The journal's subjects lie in a space of their own (package
// internal/streamspace says why), a random word in the streams' subjects
// (messages.Subjects.JournalAllIn):
//
//	<prefix>.journal.<space>.batch.v1   the batches
//	<prefix>.jobinputs.v1.<space>       their descriptions
//
// With fixed subjects any frontend or agent could have acknowledgements
// stored in the journal until it refused new jobs for everybody (Full),
// or in the descriptions' stream, which has no bound of its own, until
// the disk was full. Errors name the streams, never a subject.
//
// A journal of an older layout (its subjects <prefix>.journal.> and
// <prefix>.jobinputs.v1) gets a space at its next open, and what it holds
// is still read (isBatch knows the older subjects). Two backends that
// open such a journal at the same moment may each move it; the later
// update wins. The active backend opens the journal again once it holds
// the lease, so it reads the space that won; should the other lead with
// its own, its stores fail (no stream takes their subject) for the
// store's retries, about two minutes, and it ends with ErrJournalFailed,
// nothing lost: its next start reads the space. An older backend that
// merely starts moves the streams back to its subjects
// (docs/deployment.md: upgrade every backend together).

// spaceHead is what comes before the space in the journal stream's
// subjects.
func spaceHead(subj messages.Subjects) string { return subj.Journal("") }

// isBatch says whether a message of the journal stream on subject is a
// batch: of this journal's space, of another's (two backends that made
// one at once, above), or of the layout before spaces. Anything else is
// of the layout before batches, a record on its job's subject.
func (j *Journal) isBatch(subject string) bool {
	if subject == j.batches || subject == j.subj.JournalBatch() {
		return true
	}
	rest, ok := strings.CutPrefix(subject, spaceHead(j.subj))
	if !ok {
		return false
	}
	space, ok := strings.CutSuffix(rest, "."+messages.SuffixJournalBatch)
	return ok && streamspace.Valid(space)
}
