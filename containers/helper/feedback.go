package helper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// feedback is /.ingo/feedback.json, in INGInious' layout (what
// `feedback -p` prints): a problem is "text" or ["result", "text"], a test
// is true/false or an auto-tag's string. Absent fields were never set.
type feedback struct {
	Result   *string                    `json:"result,omitempty"`
	Text     *string                    `json:"text,omitempty"`
	Grade    *float64                   `json:"grade,omitempty"`
	Problems map[string]*problemEntry   `json:"problems,omitempty"`
	Tests    map[string]json.RawMessage `json:"tests,omitempty"`
	Custom   map[string]json.RawMessage `json:"custom,omitempty"`
	State    *string                    `json:"state,omitempty"`
}

// problemEntry is one problem's feedback.
type problemEntry struct {
	Result    string
	HasResult bool
	Text      string
}

func (p problemEntry) MarshalJSON() ([]byte, error) {
	if p.HasResult {
		return json.Marshal([2]string{p.Result, p.Text})
	}
	return json.Marshal(p.Text)
}

func (p *problemEntry) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err == nil {
		*p = problemEntry{Text: text}
		return nil
	}
	var pair []string
	if err := json.Unmarshal(data, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("a problem's feedback must be \"text\" or [\"result\", \"text\"], not %s", data)
	}
	*p = problemEntry{Result: pair[0], HasResult: true, Text: pair[1]}
	return nil
}

// empty tells whether the run file set nothing at all.
func (f *feedback) empty() bool {
	return f.Result == nil && f.Text == nil && f.Grade == nil && len(f.Problems) == 0 &&
		len(f.Tests) == 0 && len(f.Custom) == 0 && f.State == nil
}

func (f *feedback) problem(pid string) *problemEntry {
	if f.Problems == nil {
		f.Problems = map[string]*problemEntry{}
	}
	if f.Problems[pid] == nil {
		f.Problems[pid] = &problemEntry{}
	}
	return f.Problems[pid]
}

// setText sets or appends to the global text (pid "") or a problem's.
func (f *feedback) setText(pid, text string, appendTo bool) {
	var target *string
	if pid == "" {
		if f.Text == nil {
			f.Text = new(string)
		}
		target = f.Text
	} else {
		target = &f.problem(pid).Text
	}
	if appendTo {
		*target += text
	} else {
		*target = text
	}
}

// setResult sets the global result (pid "") or a problem's.
func (f *feedback) setResult(pid, result string) {
	if pid == "" {
		f.Result = &result
		return
	}
	e := f.problem(pid)
	e.Result, e.HasResult = result, true
}

// capTexts keeps every text at most limit+1 bytes while the run file works,
// so that a loop of appends cannot grow the file without end; the final
// cut, with its note, is made when the result is built.
func (f *feedback) capTexts(limit int64) {
	if limit <= 0 {
		return
	}
	capOne := func(s *string) {
		if int64(len(*s)) > limit+1 {
			*s = (*s)[:limit+1]
		}
	}
	if f.Text != nil {
		capOne(f.Text)
	}
	for _, p := range f.Problems {
		capOne(&p.Text)
	}
}

// feedbackStore is the feedback file with its lock. Run files may call the
// commands from background processes at the same time, so every
// read-modify-write holds an exclusive flock on a separate lock file (the
// feedback file itself is replaced by rename, so it cannot carry the lock).
type feedbackStore struct {
	path, lock string
	// textLimit caps texts at write time (0: no cap); see capTexts.
	textLimit int64
}

func newFeedbackStore(p Paths, textLimit int64) *feedbackStore {
	return &feedbackStore{path: p.Feedback, lock: p.Lock, textLimit: textLimit}
}

// locked runs fn while holding the lock (exclusive or shared).
func (s *feedbackStore) locked(exclusive bool, fn func() error) error {
	lf, err := os.OpenFile(s.lock, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("opening the feedback lock: %w", err)
	}
	defer lf.Close() // closing releases the lock
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(lf.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("locking the feedback: %w", err)
	}
	return fn()
}

// read decodes the feedback file; a missing or empty file is no feedback.
func (s *feedbackStore) read() (*feedback, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &feedback{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the feedback: %w", err)
	}
	f := &feedback{}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("the feedback file %s is corrupt (was it modified by hand?): %w", s.path, err)
	}
	return f, nil
}

// Load returns the current feedback.
func (s *feedbackStore) Load() (f *feedback, err error) {
	err = s.locked(false, func() error {
		f, err = s.read()
		return err
	})
	return f, err
}

// Update applies fn to the feedback and saves it atomically; when fn fails
// nothing is saved.
func (s *feedbackStore) Update(fn func(*feedback) error) error {
	return s.locked(true, func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		f.capTexts(s.textLimit)
		data, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("encoding the feedback: %w", err)
		}
		return writeFileAtomic(s.path, data, false)
	})
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path, so that readers see the old or the new content, never half.
func writeFileAtomic(path string, data []byte, sync bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
