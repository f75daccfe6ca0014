package helper

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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

// runStdin runs `ingo-helper run` in an empty root with stdin and returns
// its exit status, stdout and stderr.
func runStdin(t *testing.T, stdin []byte) (c *container, code int, stdout, stderr string) {
	t.Helper()
	root := t.TempDir()
	c = &container{t: t, root: root, paths: NewPaths(root)}
	// The mount points exist in a container (empty tmpfs).
	for _, d := range []string{c.paths.Task, c.paths.Ingo, c.paths.Archive} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(helperBin, "run")
	cmd.Env = c.env()
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return c, code, out.String(), errb.String()
}

// framed finds the framed result on the helper's stdout.
func framed(t *testing.T, stdout string) Result {
	t.Helper()
	i := strings.LastIndex(stdout, "\n"+ResultFrame+" ")
	if i < 0 {
		t.Fatalf("no framed result on stdout: %q", stdout)
	}
	rest := stdout[i+len(ResultFrame)+2:]
	nl := strings.IndexByte(rest, '\n')
	n, err := strconv.Atoi(rest[:nl])
	if err != nil || len(rest[nl+1:]) != n {
		t.Fatalf("bad frame %q (length %v, %d bytes follow)", rest[:nl], err, len(rest[nl+1:]))
	}
	var r Result
	if err := json.Unmarshal([]byte(rest[nl+1:]), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestStdinMode(t *testing.T) {
	c, code, stdout, stderr := runStdin(t, stdinTar(t, baseEntries(t, 16)))
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	r := framed(t, stdout)
	if r.Result != StatusSuccess || r.Text != "hello\n" && r.Text != "hello" || r.Stdout != "out\n" {
		t.Errorf("framed result %+v", r)
	}
	data, err := os.ReadFile(c.paths.Result)
	if err != nil {
		t.Fatal(err)
	}
	var fr Result
	if err := json.Unmarshal(data, &fr); err != nil || fr.Result != r.Result || fr.Text != r.Text {
		t.Errorf("result.json %s differs from the framed result %+v", data, r)
	}
	st, err := os.Stat(filepath.Join(c.paths.Task, "run"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("task/run: %v %v", st, err)
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
			entries := append(baseEntries(t, 1), tt.entry)
			c, code, stdout, stderr := runStdin(t, stdinTar(t, entries))
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, stderr)
			}
			r := framed(t, stdout)
			if r.Result != StatusCrash || !strings.Contains(r.Text, "could not receive its files") {
				t.Errorf("result %q %q, want a crash about the files", r.Result, r.Text)
			}
			if !strings.Contains(stderr, "stdin:") {
				t.Errorf("stderr %q names no stdin error", stderr)
			}
			for _, p := range []string{"evil", "../evil", "etc/evil", "task/link", "task/dev", "task/fifo", "task/big"} {
				if _, err := os.Lstat(filepath.Join(c.root, p)); err == nil {
					t.Errorf("%s was created", p)
				}
			}
		})
	}
}

func TestStdinMode_OverSizeInputRefused(t *testing.T) {
	// A header claiming more than the bound is refused before any read.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: ".ingo/input.json", Typeflag: tar.TypeReg, Size: MaxStdinInputBytes + 1, Mode: 0o644})
	_, code, stdout, _ := runStdin(t, buf.Bytes()) // truncated tar: the header alone
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if r := framed(t, stdout); r.Result != StatusCrash || !strings.Contains(r.Text, "over the bound") {
		t.Errorf("result %q %q", r.Result, r.Text)
	}
}

func TestStdinMode_EmptyStdinIsFileMode(t *testing.T) {
	// No tar and no input.json: the file mode's crash, nothing on stdout.
	c, code, stdout, _ := runStdin(t, nil)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	data, err := os.ReadFile(c.paths.Result)
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
