package helper

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestPyDumps(t *testing.T) {
	tests := []struct{ in, want string }{
		{`["a","b"]`, `["a", "b"]`},
		{`{"z":1,"a":[true,null,1.50]}`, `{"z": 1, "a": [true, null, 1.50]}`}, // order and literals kept
		{`"é😀\u0001<>"`, `"\u00e9\ud83d\ude00\u0001<>"`},
		{`[]`, `[]`},
		{`{}`, `{}`},
		{`"\u007f"`, `"\u007f"`},
	}
	for _, tt := range tests {
		got, err := pyDumps([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("pyDumps(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestShebang(t *testing.T) {
	tests := []struct {
		head string
		want []string
	}{
		{"#!/bin/sh\necho", []string{"/bin/sh"}},
		{"#! /usr/bin/env python3\n", []string{"/usr/bin/env", "python3"}},
		{"#!/bin/bash -e -u\n", []string{"/bin/bash", "-e -u"}}, // one argument, as Linux
		{"#!/bin/sh\t-x\n", []string{"/bin/sh", "-x"}},
		{"#!\n", nil},
		{"echo hi\n", nil},
		{"#!/bin/sh", []string{"/bin/sh"}},
	}
	for _, tt := range tests {
		if got := shebang([]byte(tt.head)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("shebang(%q) = %q, want %q", tt.head, got, tt.want)
		}
	}
}

func TestInstallLinks(t *testing.T) {
	dir := t.TempDir()
	// An INGInious image already has Python scripts by these names.
	if err := os.WriteFile(filepath.Join(dir, "feedback-msg"), []byte("#!/usr/bin/python3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := installLinks(dir, "/usr/local/bin/ingo-helper"); err != nil {
		t.Fatal(err)
	}
	if err := installLinks(dir, "/usr/local/bin/ingo-helper"); err != nil {
		t.Fatalf("a second run must succeed: %v", err)
	}
	for _, name := range CommandNames() {
		if target, err := os.Readlink(filepath.Join(dir, name)); err != nil || target != "/usr/local/bin/ingo-helper" {
			t.Errorf("%s -> %q, %v", name, target, err)
		}
	}
	for _, internal := range []string{"run", "install-links"} {
		if _, err := os.Lstat(filepath.Join(dir, internal)); !os.IsNotExist(err) {
			t.Errorf("%s must get no link: %v", internal, err)
		}
	}
	blocked := t.TempDir()
	if err := os.Mkdir(filepath.Join(blocked, "getinput"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := installLinks(blocked, "/x"); err == nil {
		t.Errorf("a directory in the way was replaced")
	}
}

func TestCommandNamesMatchINGInious(t *testing.T) {
	want := []string{"archive", "feedback", "feedback-custom", "feedback-grade", "feedback-msg", "feedback-msg-tpl",
		"feedback-result", "feedback-state", "getinput", "parsetemplate", "rst-code", "rst-image", "rst-indent",
		"rst-msgblock", "run_student", "ssh_student", "tag", "tag-set"}
	if got := CommandNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("CommandNames() = %v, want %v", got, want)
	}
}

func TestPackArchive(t *testing.T) {
	dir := t.TempDir()
	if tgz, over, _, err := packArchive(filepath.Join(dir, "missing"), 1<<20); tgz != nil || over || err != nil {
		t.Errorf("missing folder: %v %v %v", tgz, over, err)
	}
	if tgz, over, _, err := packArchive(dir, 1<<20); tgz != nil || over || err != nil {
		t.Errorf("empty folder: %v %v %v", tgz, over, err)
	}
	must(t, os.MkdirAll(filepath.Join(dir, "d/e"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "d/f.txt"), []byte("F"), 0o644))
	must(t, os.Symlink("d/f.txt", filepath.Join(dir, "link")))
	tgz, over, skipped, err := packArchive(dir, 1<<20)
	if err != nil || over || len(skipped) != 0 {
		t.Fatalf("%v %v %v", over, skipped, err)
	}
	got := untar(t, b64(tgz))
	want := map[string]string{"d/": "", "d/e/": "", "d/f.txt": "F", "link": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
	if _, over, _, _ := packArchive(dir, 10); !over {
		t.Errorf("a 10-byte limit must drop the archive")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

// An executable run file needs no PATH search before it starts: the
// default interpreter is looked up only when the kernel refuses the file
// (ENOEXEC), since each lookup on an image's rootfs costs every job time.
func TestExecutableRunFileLooksUpNoInterpreter(t *testing.T) {
	lookups := 0
	orig := pathLookup
	pathLookup = func(name string) (string, error) { lookups++; return orig(name) }
	t.Cleanup(func() { pathLookup = orig })
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	must(t, os.WriteFile(run, []byte("#!/bin/sh\ntrue\n"), 0o755))
	cmd, err := commandFor(run, "run")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cmd.argv, []string{run}) || cmd.fallback == nil {
		t.Fatalf("commandFor = %+v", cmd)
	}
	if lookups != 0 {
		t.Errorf("%d PATH lookups before the start, want 0", lookups)
	}
	// On ENOEXEC the fallback is the shell, as before.
	if argv, err := cmd.fallback(); err != nil || argv[len(argv)-1] != run || lookups != 1 {
		t.Errorf("fallback = %v, %v after %d lookups", argv, err, lookups)
	}
}
