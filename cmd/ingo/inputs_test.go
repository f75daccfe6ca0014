package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestInputData(t *testing.T) {
	t.Parallel()
	code := writeFile(t, filepath.Join(t.TempDir(), "sort.py"), "print(1)\n")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := inputData(
		[]string{"q1=a=b", "mcq=1", "mcq=3", "@lang=fr"},
		[]string{"code=" + code},
		nil, now,
	)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"q1":    "a=b",
		"mcq":   []any{"1", "3"},
		"code":  map[string]any{"filename": "sort.py", "value": []byte("print(1)\n")},
		"@lang": "fr",
		"@time": "2026-01-02 03:04:05.000000",
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for _, k := range []string{"@username", "@email", "@attempts", "@state", "@random"} {
		if _, ok := got[k]; !ok {
			t.Errorf("INGInious key %s missing", k)
		}
	}
}

func TestInputData_Errors(t *testing.T) {
	t.Parallel()
	binary := writeFile(t, filepath.Join(t.TempDir(), "a.out"), "\x7fELF\xff\xfe")
	cases := []struct {
		values, files []string
		want          string
	}{
		{[]string{"=x"}, nil, "PID=VALUE"},
		{[]string{"novalue"}, nil, "PID=VALUE"},
		{nil, []string{"code"}, "PID=FILE"},
		{nil, []string{"code=/nonexistent/file"}, "/nonexistent/file"},
		{[]string{"code=x"}, []string{"code=" + os.Args[0]}, "already has an answer"},
		{[]string{"code=@/nonexistent/file"}, nil, "/nonexistent/file"},
		{[]string{"code=@"}, nil, "@FILE"},
		// A binary file is an upload, not a text answer.
		{[]string{"code=@" + binary}, nil, "-f PID=FILE"},
		{[]string{"[]=x"}, nil, "PID[]=VALUE"},
		{[]string{"@random=abc"}, nil, "@random holds numbers"},
		{[]string{"@random=NaN"}, nil, "@random holds numbers"},
		{[]string{"@random=0.5", "@random="}, nil, "@random holds numbers"},
	}
	for _, tc := range cases {
		_, err := inputData(tc.values, tc.files, nil, time.Now())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("inputData(%v, %v) = %v, want an error with %q", tc.values, tc.files, err, tc.want)
		}
	}
}

// TestInputData_FileAnswer: -i PID=@FILE is the file's text, repeatable
// like any -i value; @@ keeps a literal @.
func TestInputData_FileAnswer(t *testing.T) {
	t.Parallel()
	code := writeFile(t, filepath.Join(t.TempDir(), "sort.py"), "def sort(l):\n    return sorted(l)\n")
	got, err := inputData([]string{"code=@" + code, "lines=@" + code, "lines=two", "mail=@@ada"}, nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"code":  "def sort(l):\n    return sorted(l)\n",
		"lines": []any{"def sort(l):\n    return sorted(l)\n", "two"},
		"mail":  "@ada",
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

// TestInputData_Types: a run file gets the types INGInious' webapp gives
// it: a multiple choice with multiple set is a list even of one choice,
// PID[] makes a list of one for any problem, and @random is a list of
// numbers (empty when not given, as for a task without input_random).
func TestInputData_Types(t *testing.T) {
	t.Parallel()
	problems := map[string]any{
		"many":  map[string]any{"type": "multiple_choice", "multiple": true},
		"one":   map[string]any{"type": "multiple_choice"},
		"words": map[string]any{"type": "code"},
	}
	cases := []struct {
		name   string
		values []string
		pid    string
		want   any
	}{
		{"a multiple choice with one choice", []string{"many=1"}, "many", []any{"1"}},
		{"a multiple choice with two", []string{"many=1", "many=3"}, "many", []any{"1", "3"}},
		{"a single choice", []string{"one=1"}, "one", "1"},
		{"a text", []string{"words=hi"}, "words", "hi"},
		{"a list of one, PID[]", []string{"words[]=hi"}, "words", []any{"hi"}},
		{"PID[] and PID mixed", []string{"words[]=a", "words=b"}, "words", []any{"a", "b"}},
		{"an input no problem has", []string{"extra=x"}, "extra", "x"},
		{"@random, one number", []string{"@random=0.37"}, "@random", []any{0.37}},
		{"@random, two numbers", []string{"@random=0.37", "@random= 1e-3"}, "@random", []any{0.37, 0.001}},
		{"@random, written @random[]", []string{"@random[]=0.5"}, "@random", []any{0.5}},
		{"@random not given", nil, "@random", []any{}},
		{"@lang stays a text", []string{"@lang=fr"}, "@lang", "fr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := inputData(tc.values, nil, problems, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[tc.pid], tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.pid, got[tc.pid], tc.want)
			}
		})
	}
}

// writeFile writes content at path, making its folders, and returns path.
func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
