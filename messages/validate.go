package messages

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// CheckEncoded tells whether data, produced by Encode from r, will pass a
// peer's Decode, without decoding it: the structure (nesting, item counts)
// is checked on the bytes, and what the encoder does not check (invalid
// UTF-8, free-form values of types the decoder refuses) on r. Agents use it
// on every result, where a full decode would cost as much as the send.
func (r *JobResult) CheckEncoded(data []byte) error {
	if len(data) > MaxMessageSize {
		return fmt.Errorf("%d bytes is over the limit of %d", len(data), MaxMessageSize)
	}
	if err := decMode.Wellformed(data); err != nil {
		return err
	}
	for name, s := range map[string]string{"text": r.Result.Text, "state": r.State, "stdout": r.Stdout, "stderr": r.Stderr} {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%s is not valid UTF-8", name)
		}
	}
	for id, p := range r.Problems {
		if !utf8.ValidString(id) || !utf8.ValidString(p.Text) || !utf8.ValidString(string(p.Status)) {
			return fmt.Errorf("problem %q is not valid UTF-8", id)
		}
	}
	if err := r.Usage.Validate(); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	return checkFreeFormMaps(r.Tests, r.Custom)
}

// Validate checks a ClientGetQueue's bounds: the backend answers one that
// fails with Error (CodeBadRequest).
func (q *ClientGetQueue) Validate() error {
	switch {
	case q.PerQueue < 0 || q.PerQueue > MaxQueueHeads:
		return fmt.Errorf("per_queue %d is outside [0, %d]", q.PerQueue, MaxQueueHeads)
	case q.Limit < 0 || q.Limit > MaxQueuePage:
		return fmt.Errorf("limit %d is outside [0, %d]", q.Limit, MaxQueuePage)
	case q.PerQueue > 0 && q.Limit > 0:
		return errors.New("per_queue and limit ask for two different answers")
	case q.Limit == 0 && (q.After != nil || q.EnvironmentType != "" || q.Environment != "" || q.CourseID != "" || q.JobID != ""):
		return errors.New("after and the filters need a limit (a page)")
	case q.JobID != "" && q.After != nil:
		return errors.New("a job id filter asks for one job: there is no page after it")
	case q.Environment != "" && q.EnvironmentType == "":
		return errors.New("an environment filter needs its environment type")
	case len(q.Ref) > MaxIDLength:
		return fmt.Errorf("ref of %d bytes is longer than %d", len(q.Ref), MaxIDLength)
	case len(q.EnvironmentType) > MaxNameLength || len(q.Environment) > MaxNameLength || len(q.CourseID) > MaxNameLength:
		return fmt.Errorf("a filter over %d bytes", MaxNameLength)
	}
	if q.JobID != "" {
		if err := ValidateID(q.JobID); err != nil {
			return fmt.Errorf("job_id: %w", err)
		}
	}
	if q.After != nil {
		if err := q.After.validate(); err != nil {
			return fmt.Errorf("after: %w", err)
		}
	}
	return nil
}
