package helper

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// loadInput reads and decodes input.json.
func loadInput(path string) (*Input, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the job input: %w", err)
	}
	var in Input
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("decoding the job input %s: %w", path, err)
	}
	if in.Input == nil {
		return nil, fmt.Errorf("decoding the job input %s: no \"input\" object", path)
	}
	return &in, nil
}

// uploadedFile is an input of a file-upload problem.
type uploadedFile struct {
	Filename string
	Content  []byte
}

// asFile tells whether raw is an uploaded file: an object with "filename"
// and "value" (base64), as INGInious checks.
func asFile(raw json.RawMessage) (*uploadedFile, bool, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return nil, false, nil
	}
	var f struct {
		Filename *string `json:"filename"`
		Value    *string `json:"value"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Filename == nil || f.Value == nil {
		return nil, false, nil //nolint:nilerr // another kind of object
	}
	content, err := base64.StdEncoding.DecodeString(*f.Value)
	if err != nil {
		return nil, true, fmt.Errorf("the uploaded file %q is not valid base64: %w", *f.Filename, err)
	}
	return &uploadedFile{Filename: *f.Filename, Content: content}, true, nil
}

// errNoInput is wrapped when a problem id has no input.
var errNoInput = errors.New("no such input")

// getInput returns what `getinput spec` prints, as INGInious: "pid" gives a
// string answer as it is, a list or an object as JSON (Python's layout), a
// number as written, an uploaded file's content; "pid:filename" gives an
// uploaded file's name ("pid:value" or any other suffix: its content).
func getInput(in *Input, spec string) ([]byte, error) {
	parts := strings.Split(spec, ":")
	raw, ok := in.Input[parts[0]]
	if !ok {
		return nil, fmt.Errorf("%w: %q", errNoInput, parts[0])
	}
	if f, isFile, err := asFile(raw); isFile {
		if err != nil {
			return nil, err
		}
		if len(parts) > 1 && parts[1] == "filename" {
			return []byte(f.Filename), nil
		}
		return f.Content, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decoding input %q: %w", parts[0], err)
	}
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case json.Number:
		return []byte(t.String()), nil
	case bool: // Python prints str(True)
		return []byte(map[bool]string{true: "True", false: "False"}[t]), nil
	case nil:
		return nil, fmt.Errorf("input %q is null: invalid/unknown input format", parts[0])
	default:
		s, err := pyDumps(raw)
		return []byte(s), err
	}
}

// templateText is the text parsetemplate puts in place of a marker: a
// string as it is, a list one element per line (INGInious fails there), a
// number as written, anything else as JSON.
func templateText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		lines := make([]string, len(list))
		for i, e := range list {
			lines[i] = templateText(e)
		}
		return strings.Join(lines, "\n")
	}
	return string(bytes.TrimSpace(raw))
}

// pathElement tells whether s may become one path element as it is.
func pathElement(s string) bool {
	if s == "" || s == "." || s == ".." || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '/' })
}

// writtenUpload is an uploaded file materialiseUploads wrote: its name as
// the client gave it, and its path in the container.
type writtenUpload struct {
	Filename, Path string
}

// materialiseUploads writes every uploaded file to FilesDir/<pid>/<name>,
// so that compilers and tools can use them as files (INGInious also writes
// uploads to files), and returns each file written by problem id. Problem
// ids or names unfit for a path are skipped or renamed "upload"; getinput
// still works for them.
func materialiseUploads(p Paths, in *Input) (map[string]writtenUpload, error) {
	var errs []error
	written := map[string]writtenUpload{}
	for pid, raw := range in.Input {
		f, isFile, err := asFile(raw)
		if !isFile {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !pathElement(pid) {
			continue
		}
		name := filepath.Base(f.Filename)
		if !pathElement(name) {
			name = "upload"
		}
		dir := filepath.Join(p.Files, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("materialising uploads: %w", err))
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), f.Content, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("materialising uploads: %w", err))
			continue
		}
		// The path the run file sees, whatever the test root.
		written[pid] = writtenUpload{Filename: f.Filename, Path: filepath.Join(FilesDir, pid, name)}
	}
	return written, errors.Join(errs...)
}
