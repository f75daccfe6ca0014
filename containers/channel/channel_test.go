package channel

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadHeader(t *testing.T) {
	long := `{"kind":"student","id":"` + strings.Repeat("x", MaxHeader) + `"}` + "\n"
	tests := []struct {
		name, in string
		kind     string // "" when an error is expected
		rest     string
	}{
		{"student", `{"kind":"student","id":"a1","student":{"argv":["ls"],"time":2}}` + "\nREST", "student", "REST"},
		{"raw bytes after", `{"kind":"ssh"}` + "\n\x00\x01SSH-2.0", "ssh", "\x00\x01SSH-2.0"},
		{"no kind", `{"id":"a"}` + "\n", "", ""},
		{"not json", "hello\n", "", ""},
		{"no newline", `{"kind":"ssh"}`, "", ""},
		{"empty", "", "", ""},
		{"too long", long, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := strings.NewReader(tt.in)
			h, line, err := ReadHeader(r)
			if tt.kind == "" {
				if !errors.Is(err, ErrHeader) {
					t.Fatalf("err = %v, want ErrHeader", err)
				}
				return
			}
			if err != nil || h.Kind != tt.kind {
				t.Fatalf("got %+v, %v", h, err)
			}
			// Nothing after the line is consumed, and the line comes back
			// whole for the helper's proxy to pass on.
			rest, _ := io.ReadAll(r)
			if string(rest) != tt.rest || !bytes.HasSuffix(line, []byte("\n")) || !strings.HasPrefix(tt.in, string(line)) {
				t.Errorf("rest %q line %q", rest, line)
			}
		})
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	var b bytes.Buffer
	in := Header{Kind: KindStudent, ID: "x", Student: &StudentRequest{Argv: []string{"a b", "c"}, Memory: 64, SSH: true, SetupScript: "make"}}
	if err := WriteHeader(&b, in); err != nil {
		t.Fatal(err)
	}
	out, _, err := ReadHeader(&b)
	if err != nil || out.ID != "x" || out.Student == nil || out.Student.Argv[0] != "a b" || !out.Student.SSH || out.Student.Memory != 64 {
		t.Fatalf("got %+v %+v, %v", out, out.Student, err)
	}
}

func TestLines(t *testing.T) {
	var b bytes.Buffer
	_ = WriteLine(&b, Event{Event: EventStarted, Container: "c"})
	_ = WriteLine(&b, Event{Event: EventExit, Code: 253})
	b.WriteString("garbage\n")
	l := NewLines[Event](&b)
	if e, err := l.Next(); err != nil || e.Event != EventStarted || e.Container != "c" {
		t.Fatalf("1: %+v %v", e, err)
	}
	if e, err := l.Next(); err != nil || e.Event != EventExit || e.Code != 253 {
		t.Fatalf("2: %+v %v", e, err)
	}
	if _, err := l.Next(); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestSSHLimits(t *testing.T) {
	var nilLimits *SSHLimits
	if nilLimits.Login() != DefaultLoginTimeout || nilLimits.Max() != DefaultMaxSession {
		t.Error("nil limits are not the defaults")
	}
	l := &SSHLimits{LoginTimeout: 1.5, MaxSession: 60}
	if l.Login().Seconds() != 1.5 || l.Max().Seconds() != 60 {
		t.Errorf("got %v %v", l.Login(), l.Max())
	}
}

// FuzzReadHeader: whatever a container writes, ReadHeader returns a
// header with a kind or ErrHeader, and never reads past the first newline.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte(`{"kind":"student","id":"a","student":{"argv":["x"]}}` + "\nrest"))
	f.Add([]byte(`{"kind":""}` + "\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"kind":"ssh","student":{"time":-1e309}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		h, line, err := ReadHeader(r)
		if err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("error %v is not ErrHeader", err)
			}
			return
		}
		if h.Kind == "" || !bytes.HasPrefix(data, line) || int(r.Size())-r.Len() != len(line) {
			t.Fatalf("header %+v line %q from %q", h, line, data)
		}
	})
}

// TestReadResult: the agent takes a result only when the frame is whole,
// and never more than its bound.
func TestReadResult(t *testing.T) {
	var written bytes.Buffer
	if err := WriteResult(&written, []byte(`{"result":"success"}`)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in string
		max      int64
		want     string
		tooLarge bool // ErrResultTooLarge
		bad      bool // another error
	}{
		{"as written", written.String(), 100, `{"result":"success"}`, false, false},
		{"at the bound", "INGO-RESULT 5\nhello", 5, "hello", false, false},
		{"empty", "INGO-RESULT 0\n", 5, "", false, false},
		{"body with newlines", "INGO-RESULT 8\na\nINGO-\n", 10, "a\nINGO-\n", false, false},
		{"over the bound", "INGO-RESULT 11\nhello world", 10, "", true, false},
		{"over the bound, body never sent", "INGO-RESULT 999999999\n", 10, "", true, false},
		{"cut short", "INGO-RESULT 9\nhello", 10, "", false, true},
		{"no frame line", "hello\n", 10, "", false, true},
		{"line before the frame", "\nINGO-RESULT 1\na", 10, "", false, true},
		{"negative", "INGO-RESULT -1\n", 10, "", false, true},
		{"not a number", "INGO-RESULT x\n", 10, "", false, true},
		{"trailing junk", "INGO-RESULT 1 2\nab", 10, "", false, true},
		{"endless line", "INGO-RESULT 1" + strings.Repeat("0", 100), 10, "", false, true},
		{"nothing", "", 10, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadResult(strings.NewReader(tt.in), tt.max)
			switch {
			case tt.tooLarge:
				if !errors.Is(err, ErrResultTooLarge) {
					t.Errorf("err = %v, want ErrResultTooLarge", err)
				}
			case tt.bad:
				if err == nil || errors.Is(err, ErrResultTooLarge) {
					t.Errorf("got %q, %v; want an error", got, err)
				}
			case err != nil || string(got) != tt.want:
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
