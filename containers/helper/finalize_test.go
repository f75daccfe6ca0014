package helper

import (
	"encoding/json"
	"fmt"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"strings"
	"testing"
)

func encodeResult(t testing.TB, r Result) []byte {
	b, err := resultJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildResultLimits(t *testing.T) {
	const L = 1000
	long := strings.Repeat("x", 800)
	tests := []struct {
		name      string
		fb        *feedback
		out       outcome
		check     func(t *testing.T, r Result)
		truncated string
	}{
		{name: "texts share one budget", fb: &feedback{
			Result: ptr("failed"), Text: ptr(long),
			Problems: map[string]*problemEntry{"a": {Text: long}, "b": {Text: "short"}},
		}, truncated: "[problems]", check: func(t *testing.T, r Result) {
			if r.Text != long {
				t.Errorf("the global text, first, must stay whole")
			}
			if !strings.HasSuffix(r.Problems["a"].Text, cutNote("feedback", L)) {
				t.Errorf("problem a: no note: %q", r.Problems["a"].Text)
			}
			if r.Problems["b"].Text != "" {
				t.Errorf("problem b = %q: no budget was left", r.Problems["b"].Text)
			}
			if r.Result != "failed" {
				t.Errorf("result %q", r.Result)
			}
		}},
		{name: "structured part over the limit", fb: &feedback{
			Result: ptr("success"), Custom: map[string]json.RawMessage{"big": json.RawMessage(`"` + strings.Repeat("y", 2*L) + `"`)},
		}, truncated: "[feedback]", check: func(t *testing.T, r Result) {
			if r.Result != "error" || !strings.Contains(r.Text, "too large") || len(r.Custom) != 0 || r.Grade != 0 {
				t.Errorf("got %q %q custom %d grade %v", r.Result, r.Text, len(r.Custom), r.Grade)
			}
		}},
		{name: "raw capture cut still gets a note", fb: &feedback{Result: ptr("success")},
			out: outcome{stdout: "abc", stdoutCut: true}, truncated: "[stdout]",
			check: func(t *testing.T, r Result) {
				if r.Stdout != "abc"+cutNote("stdout", L) {
					t.Errorf("stdout %q", r.Stdout)
				}
			}},
		{name: "invalid UTF-8 in output", fb: &feedback{Result: ptr("success")},
			out: outcome{stderr: "a\xffb"}, truncated: "[]",
			check: func(t *testing.T, r Result) {
				if r.Stderr != "a\uFFFDb" {
					t.Errorf("stderr %q", r.Stderr)
				}
			}},
		{name: "bad problem id written by hand", fb: &feedback{
			Result: ptr("success"), Problems: map[string]*problemEntry{"Bad Id": {Text: "x"}},
		}, truncated: "[]", check: func(t *testing.T, r Result) {
			if r.Result != "error" || !strings.Contains(r.Text, "badly formatted") || len(r.Problems) != 0 {
				t.Errorf("got %q %q %v", r.Result, r.Text, r.Problems)
			}
		}},
		{name: "object as a tag value", fb: &feedback{
			Result: ptr("success"), Tests: map[string]json.RawMessage{"t": json.RawMessage(`{"a":1}`)},
		}, truncated: "[]", check: func(t *testing.T, r Result) {
			if r.Result != "error" {
				t.Errorf("got %q", r.Result)
			}
		}},
		{name: "unknown problem status", fb: &feedback{
			Result: ptr("failed"), Problems: map[string]*problemEntry{"q": {Result: "meh", HasResult: true}},
		}, truncated: "[]", check: func(t *testing.T, r Result) {
			if r.Problems["q"].Status != "crash" {
				t.Errorf("status %q", r.Problems["q"].Status)
			}
		}},
		{name: "archive over the limit", fb: &feedback{Result: ptr("success")},
			out: outcome{archiveOver: true}, truncated: "[archive]",
			check: func(t *testing.T, r Result) {
				if r.Archive != "" || r.Result != "success" {
					t.Errorf("archive %q result %q", r.Archive, r.Result)
				}
				// The wire result carries no Truncated: debug output is
				// where the author learns why the archive is missing.
				if !strings.HasPrefix(r.Stderr, "[ingo: archive left out:") {
					t.Errorf("stderr %q: no note on the archive", r.Stderr)
				}
			}},
		{name: "archive over the limit, stderr kept after the note", fb: &feedback{Result: ptr("success")},
			out: outcome{archiveOver: true, stderr: "warning: x\n"}, truncated: "[archive]",
			check: func(t *testing.T, r Result) {
				if !strings.HasPrefix(r.Stderr, "[ingo: archive left out:") || !strings.HasSuffix(r.Stderr, "warning: x\n") {
					t.Errorf("stderr %q", r.Stderr)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := buildResult(tt.fb, nil, &tt.out, L)
			if got := fmt.Sprint(r.Truncated); got != tt.truncated {
				t.Errorf("truncated = %s, want %s", got, tt.truncated)
			}
			tt.check(t, r)
			if n := len(encodeResult(t, r)); int64(n) > contract.MaxResultBytes(L) {
				t.Errorf("result.json would be %d bytes, over %d", n, contract.MaxResultBytes(L))
			}
		})
	}
}

// FuzzResultSize checks the bound the runtime relies on: whatever the run
// file writes, result.json stays within MaxResultBytes.
func FuzzResultSize(f *testing.F) {
	f.Add(int64(100), "text", "out", "err", 3, "problem text", "custom", "state", 10)
	f.Add(int64(10), "\x00\x00\x00", "\n\n\n\n", "\xff\xff", 50, "\"\"\"", "\\", "\u2028", 200)
	f.Fuzz(func(t *testing.T, limit int64, text, stdout, stderr string, nProblems int, ptext, custom, state string, archiveLen int) {
		limit = 1 + abs(limit)%4096
		nProblems = abs(nProblems) % 300
		archiveLen = abs(archiveLen) % 8192
		rep := func(s string, n int) string { return strings.Repeat(s, 1+n%50) }
		fb := &feedback{Result: ptr("failed"), Text: ptr(rep(text, len(ptext))), State: ptr(state),
			Problems: map[string]*problemEntry{}, Custom: map[string]json.RawMessage{}}
		for i := range nProblems {
			fb.Problems[fmt.Sprintf("p%d", i)] = &problemEntry{Result: "failed", HasResult: i%2 == 0, Text: rep(ptext, i)}
		}
		raw, _ := json.Marshal(custom)
		fb.Custom["c"] = raw
		o := &outcome{stdout: rep(stdout, nProblems), stderr: rep(stderr, archiveLen), stdoutCut: archiveLen%2 == 0}
		if int64(archiveLen) <= limit {
			o.archive = make([]byte, archiveLen)
		} else {
			o.archiveOver = true
		}
		r := buildResult(fb, nil, o, limit)
		if n := len(encodeResult(t, r)); int64(n) > contract.MaxResultBytes(limit) {
			t.Fatalf("result.json would be %d bytes, over %d for limit %d", n, contract.MaxResultBytes(limit), limit)
		}
		if jsonLen(r.Stdout) > int(limit) || jsonLen(r.Stderr) > int(limit) {
			t.Fatalf("stdout/stderr over the limit")
		}
		total := jsonLen(r.Text)
		for _, p := range r.Problems {
			total += jsonLen(p.Text)
		}
		if total > int(limit) {
			t.Fatalf("texts take %d bytes, over %d", total, limit)
		}
	})
}

func abs[T int | int64](v T) T {
	if v < 0 {
		if -v < 0 { // the most negative value
			return 0
		}
		return -v
	}
	return v
}

func TestFeedbackFileLayout(t *testing.T) {
	// INGInious' layout, as `feedback -p` shows it.
	f := &feedback{}
	f.setText("q1", "only text", false)
	f.setResult("q2", "failed")
	f.setText("q2", "why", false)
	f.setText("", "global", false)
	f.setText("", "+", true)
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"text":"global+","problems":{"q1":"only text","q2":["failed","why"]}}`
	if string(data) != want {
		t.Errorf("feedback.json = %s, want %s", data, want)
	}
	var back feedback
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if *back.Problems["q1"] != (problemEntry{Text: "only text"}) || *back.Problems["q2"] != (problemEntry{Result: "failed", HasResult: true, Text: "why"}) {
		t.Errorf("round trip: %+v %+v", back.Problems["q1"], back.Problems["q2"])
	}
	if err := json.Unmarshal([]byte(`{"problems":{"q":[1]}}`), &back); err == nil {
		t.Errorf("a malformed problem entry was accepted")
	}
}

func TestCorruptFeedbackFile(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	c.task("run", "#!/bin/sh\nfeedback-result success\necho '{not json' > \"$INGO_HELPER_ROOT/.ingo/feedback.json\"\n", 0o755)
	r := c.result()
	if r.Result != "error" || !strings.Contains(r.Text, "corrupt") {
		t.Errorf("got %q %q", r.Result, r.Text)
	}
	if code, _, stderr := c.command("", "feedback-msg", "-m", "x"); code == 0 || !strings.Contains(stderr, "corrupt") {
		t.Errorf("a command on a corrupt file: exit %d, %q", code, stderr)
	}
}

func TestWriteTimeCap(t *testing.T) {
	f := &feedback{}
	f.setText("", strings.Repeat("a", 100), false)
	f.setText("q", strings.Repeat("b", 100), false)
	f.capTexts(10)
	if len(*f.Text) != 11 || len(f.Problems["q"].Text) != 11 {
		t.Errorf("capped to %d and %d bytes, want 11 (limit+1, so the final cut notes it)", len(*f.Text), len(f.Problems["q"].Text))
	}
}
