package helper

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ingo-grader/ingo/containers/channel"
)

// tarEntry is one entry of a test stdin tar.
type tarEntry struct {
	name     string
	typ      byte
	body     string
	size     int64 // when > 0, the header's size (body padded with 'x')
	linkname string
	mode     int64
}

func stdinTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Uid: 4242, Gid: 4242, Linkname: e.linkname, Format: tar.FormatPAX}
		if e.mode != 0 {
			h.Mode = e.mode
		}
		body := e.body
		if e.size > 0 {
			body += strings.Repeat("x", int(e.size)-len(body))
		}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// baseEntries is what the runtime sends: input.json first, then the task.
func baseEntries(t *testing.T, disk int64) []tarEntry {
	in := job(nil, 1<<20)
	in["limits"].(map[string]any)["disk"] = disk
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return []tarEntry{
		{name: ".ingo/", typ: tar.TypeDir},
		{name: ".ingo/input.json", typ: tar.TypeReg, body: string(data)},
		{name: "task/", typ: tar.TypeDir},
		{name: "task/student/", typ: tar.TypeDir},
		{name: "archive/", typ: tar.TypeDir},
		{name: "task/run", typ: tar.TypeReg, mode: 0o755, body: "#!/bin/sh\necho out; echo archived > /dev/null\nfeedback-result success\nfeedback-msg -m hello\n"},
	}
}

// stdinRun is what runStdin saw of one `ingo-helper run` in stdin mode.
type stdinRun struct {
	c      *container
	code   int     // exit status
	marker bool    // the channel's marker came on stdout
	result *Result // taken over the channel; nil: none came
	before string  // stdout before the marker (or all of it)
	after  string  // stdout after the marker, without an agent
	stderr string
}

// runStdin runs `ingo-helper run` in an empty root, writes stdin to its
// stdin and plays the agent (containers/docker): it waits for the marker,
// then serves the channel on stdout and stdin, takes the result from its
// KindResult stream and closes that stream. With closeStdin, stdin is
// closed after stdin was written and nobody plays the agent.
func runStdin(t *testing.T, stdin []byte, closeStdin bool) stdinRun {
	t.Helper()
	root := t.TempDir()
	c := &container{t: t, root: root, paths: NewPaths(root)}
	// The mount points exist in a container (empty tmpfs).
	for _, d := range []string{c.paths.Task, c.paths.Ingo, c.paths.Archive} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(helperBin, "run")
	cmd.Env = c.env()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = in.Write(stdin)
		if closeStdin {
			in.Close()
		}
	}()
	run := stdinRun{c: c}
	out := bufio.NewReader(outPipe)
	var seen []byte
	for !run.marker {
		b, err := out.ReadByte()
		if err != nil {
			break
		}
		seen = append(seen, b)
		run.marker = bytes.HasSuffix(seen, []byte("\n"+channel.Marker+"\n"))
	}
	run.before = strings.TrimSuffix(string(seen), "\n"+channel.Marker+"\n")
	if run.marker && !closeStdin {
		<-written // as the agent: nothing on stdin before the tar is out
		run.result = takeResult(t, out, in)
	}
	if !run.marker || closeStdin {
		rest, _ := io.ReadAll(out) // else the session read it all
		run.after = string(rest)
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		run.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	run.stderr = errb.String()
	return run
}

// takeResult is the agent's side of the channel: it takes the result
// stream, reads the result and closes the stream.
func takeResult(t *testing.T, out io.Reader, in io.Writer) *Result {
	t.Helper()
	sess, err := yamux.Server(stdio{out, in}, channel.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// The session reads stdout to its end (the helper's exit).
		select {
		case <-sess.CloseChan():
		case <-time.After(30 * time.Second):
			t.Error("the helper did not end after its result")
		}
	}()
	accepted := make(chan *yamux.Stream, 1)
	go func() {
		st, err := sess.AcceptStream()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- st
	}()
	var st *yamux.Stream
	select {
	case st = <-accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("no stream on the channel")
	}
	if st == nil {
		return nil
	}
	h, _, err := channel.ReadHeader(st)
	if err != nil || h.Kind != channel.KindResult {
		t.Fatalf("first stream %+v, %v; want the result", h, err)
	}
	data, err := channel.ReadResult(st, 1<<30)
	st.Close() // the helper waits for it
	if err != nil {
		t.Fatalf("reading the result: %v", err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestStdinMode: the files come in on stdin, the result goes out over
// the channel only: nothing else on stdout, no result.json (nobody would
// read it: the runtime cannot copy it out of a stopped container's tmpfs).
func TestStdinMode(t *testing.T) {
	run := runStdin(t, stdinTar(t, baseEntries(t, 16)), false)
	if run.code != 0 || run.result == nil {
		t.Fatalf("exit %d, result %v, stderr %s", run.code, run.result, run.stderr)
	}
	if r := run.result; r.Result != StatusSuccess || r.Text != "hello\n" && r.Text != "hello" || r.Stdout != "out\n" {
		t.Errorf("result over the channel %+v", r)
	}
	if run.before != "" {
		t.Errorf("stdout before the marker %q, want nothing", run.before)
	}
	if _, err := os.Stat(run.c.paths.Result); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("result.json written in stdin mode: %v", err)
	}
	st, err := os.Stat(filepath.Join(run.c.paths.Task, "run"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("task/run: %v %v", st, err)
	}
}

// TestStdinMode_NoAgent: stdin closed after the tar (no agent behind it):
// the helper fails, with a message on stderr, and leaves its result
// nowhere else (the runtime then says the container stopped without one).
func TestStdinMode_NoAgent(t *testing.T) {
	run := runStdin(t, stdinTar(t, baseEntries(t, 16)), true)
	if run.code == 0 || !strings.Contains(run.stderr, "over the channel") {
		t.Errorf("exit %d, stderr %q; want a failure about the channel", run.code, run.stderr)
	}
	if !run.marker || run.before != "" || run.after != "" {
		t.Errorf("stdout %q, then the marker (%v), then %q; want the marker alone", run.before, run.marker, run.after)
	}
	if _, err := os.Stat(run.c.paths.Result); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("result.json written in stdin mode: %v", err)
	}
}

func TestStdinMode_HostileTarsRefused(t *testing.T) {
	reg := func(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeReg, body: "evil"} }
	tests := []struct {
		name  string
		entry tarEntry
	}{
		{"absolute", reg("/task/evil")},
		{"dotdot", reg("task/../../evil")},
		{"dotdot inside", reg("task/a/../../evil")},
		{"outside", reg("etc/evil")},
		{"other .ingo file", reg(".ingo/result.json")},
		{"root file", reg("evil")},
		{"symlink", tarEntry{name: "task/link", typ: tar.TypeSymlink, linkname: "/etc/passwd"}},
		{"hard link", tarEntry{name: "task/link", typ: tar.TypeLink, linkname: ".ingo/input.json"}},
		{"device", tarEntry{name: "task/dev", typ: tar.TypeChar}},
		{"fifo", tarEntry{name: "task/fifo", typ: tar.TypeFifo}},
		{"over the disk limit", tarEntry{name: "task/big", typ: tar.TypeReg, size: 1<<20 + 1}},
		{"second input.json", reg(".ingo/input.json")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Entries follow the refused one: the helper reads them all
			// to reach the channel.
			entries := append(baseEntries(t, 1), tt.entry, tarEntry{name: "task/after", typ: tar.TypeReg, body: "after"})
			run := runStdin(t, stdinTar(t, entries), false)
			c := run.c
			if run.code != 0 || run.result == nil {
				t.Fatalf("exit %d, result %v, stderr %s", run.code, run.result, run.stderr)
			}
			if r := run.result; r.Result != StatusCrash || !strings.HasPrefix(r.Text, "The grading container could not receive its files: ") {
				t.Errorf("result %q %q, want a crash about the files", r.Result, r.Text)
			}
			if !strings.Contains(run.stderr, "stdin:") {
				t.Errorf("stderr %q names no stdin error", run.stderr)
			}
			for _, p := range []string{"evil", "../evil", "etc/evil", "task/link", "task/dev", "task/fifo", "task/big"} {
				if _, err := os.Lstat(filepath.Join(c.root, p)); err == nil {
					t.Errorf("%s was created", p)
				}
			}
		})
	}
}

// TestStdinMode_OverSizeInputRefused: a header claiming more than the
// bound is refused before its contents are read; the contents are then
// skipped to reach the channel.
func TestStdinMode_OverSizeInputRefused(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: ".ingo/input.json", Typeflag: tar.TypeReg, Size: MaxStdinInputBytes + 1, Mode: 0o644})
	_, _ = tw.Write(make([]byte, MaxStdinInputBytes+1))
	_ = tw.Close()
	run := runStdin(t, buf.Bytes(), false)
	if run.code != 0 || run.result == nil {
		t.Fatalf("exit %d, result %v, stderr %s", run.code, run.result, run.stderr)
	}
	if r := run.result; r.Result != StatusCrash || !strings.Contains(r.Text, "over the bound") {
		t.Errorf("result %q %q", r.Result, r.Text)
	}
}

// TestStdinMode_RefusedTarCannotBeRead: a refused tar whose rest cannot be
// read (broken, cut short) ends the helper with a message and no channel:
// the runtime says the container stopped without a result.
func TestStdinMode_RefusedTarCannotBeRead(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "etc/evil", Typeflag: tar.TypeReg, Size: 1 << 20, Mode: 0o644})
	cut := stdinTar(t, append(baseEntries(t, 1), tarEntry{name: "task/x", typ: tar.TypeReg, body: "x"}))
	cut = cut[:len(cut)-1024] // no end-of-archive marker
	tests := []struct {
		name  string
		stdin []byte
	}{
		{"header alone", buf.Bytes()},
		{"no end marker", append(cut[:len(cut):len(cut)], bytes.Repeat([]byte{'x'}, 1024)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runStdin(t, tt.stdin, true)
			if run.code == 0 || run.marker || !strings.Contains(run.stderr, "refused tar") {
				t.Errorf("exit %d, marker %v, stderr %q; want a failure about the tar", run.code, run.marker, run.stderr)
			}
		})
	}
}

func TestStdinMode_EmptyStdinIsFileMode(t *testing.T) {
	// No tar and no input.json: the file mode's crash, nothing on stdout.
	run := runStdin(t, nil, true)
	if run.code != 0 || run.before != "" || run.marker {
		t.Fatalf("exit %d, stdout %q", run.code, run.before)
	}
	data, err := os.ReadFile(run.c.paths.Result)
	if err != nil || !strings.Contains(string(data), "could not read its job input") {
		t.Errorf("result.json %s, %v", data, err)
	}
}

func TestStdinMode_NotUsedWithInputJSON(t *testing.T) {
	// input.json present: stdin is not read, nothing framed on stdout.
	c := newContainer(t, job(nil, 1<<20))
	c.task("run", "#!/bin/sh\nfeedback-result success\n", 0o755)
	cmd := exec.Command(helperBin, "run")
	cmd.Env = c.env()
	cmd.Stdin = bytes.NewReader(stdinTar(t, []tarEntry{{name: "task/x", typ: tar.TypeReg, body: "x"}}))
	out, err := cmd.Output()
	if err != nil || len(out) != 0 {
		t.Fatalf("stdout %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(c.paths.Task, "x")); err == nil {
		t.Error("stdin was extracted although input.json exists")
	}
	if r := c.result(); r.Result != StatusSuccess {
		t.Errorf("result %q", r.Result)
	}
}

// TestExtractCommonStudent: a student container's tar is unpacked under
// course/common/student only, with the modes the tar gives, and read no
// further than its end: what follows on stdin is the student's.
func TestExtractCommonStudent(t *testing.T) {
	reg := func(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeReg, body: "x"} }
	for _, tt := range []struct {
		name    string
		entries []tarEntry
		refused bool
	}{
		{"files", []tarEntry{reg("course/common/student/a.txt"), reg("course/common/student/lib/b.so")}, false},
		{"task file", []tarEntry{reg("task/run")}, true},
		{"other common file", []tarEntry{reg("course/common/grader.sh")}, true},
		{"student's folder", []tarEntry{reg("task/student/x")}, true},
		{"input", []tarEntry{reg(".ingo/input.json")}, true},
		{"dotdot", []tarEntry{reg("course/common/student/../grader.sh")}, true},
		{"link", []tarEntry{{name: "course/common/student/l", typ: tar.TypeSymlink, linkname: "/etc/passwd"}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			stdin := bytes.NewReader(append(stdinTar(t, tt.entries), "the student's stdin"...))
			err := extractCommonStudent(Paths{Root: root}, tar.NewReader(stdin))
			if tt.refused {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(stdin)
			if string(rest) != "the student's stdin" {
				t.Errorf("after the tar: %q", rest)
			}
			st, err := os.Stat(filepath.Join(root, "course/common/student/lib/b.so"))
			if err != nil || st.Mode().Perm() != 0o644 {
				t.Errorf("b.so: %v, mode %v: want the tar's 0644", err, st)
			}
		})
	}
}
