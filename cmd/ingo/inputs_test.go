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
		now,
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
	for _, k := range []string{"@username", "@email", "@attempts", "@state"} {
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
	}
	for _, tc := range cases {
		_, err := inputData(tc.values, tc.files, time.Now())
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
	got, err := inputData([]string{"code=@" + code, "lines=@" + code, "lines=two", "mail=@@ada"}, nil, time.Now())
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
