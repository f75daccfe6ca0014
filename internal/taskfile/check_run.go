package taskfile

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// RunFiles are the names a run file is looked for under, in order
// (docs/task-authors.md, "How the run file is found").
var RunFiles = []string{"run", "run.sh", "run.py", "run.py3"}

// commonDir is the name of a course's common folder (INGInious'
// $common), beside the task folders.
const commonDir = "$common"

// interpreters are the programs a #! line may name in ingo's grading
// images (docs/images.md), for the warning about a missing interpreter,
// and for the agent's default environment-aliases (containers/docker,
// DefaultAliases).
var interpreters = map[string][]string{
	"minimal":   {"sh", "bash", "dash", "env", "perl", "awk", "mawk"},
	"default":   {"sh", "bash", "dash", "env", "perl", "awk", "mawk", "python3", "python3.11", "ipython", "ipython3"},
	"toolchain": {"sh", "bash", "dash", "env", "perl", "awk", "mawk", "python3", "python3.11", "ipython", "ipython3", "java"},
}

func init() {
	interpreters["python3"] = interpreters["default"]
	for _, name := range []string{"cpp", "java", "java7", "java8", "java8judge", "java8scala", "pyjavacpp", "java-8", "java-21", "java-25"} {
		interpreters[name] = interpreters["toolchain"]
	}
}

// FindRunFile returns the path of the task's run file, looked for as the
// helper does (RunFiles, in the task folder, then in the course's
// $common), or "" when there is none.
func FindRunFile(dir string) string {
	for _, d := range []string{dir, filepath.Join(dir, "..", commonDir)} {
		for _, name := range RunFiles {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}

// NeedsRunFile says whether jobs of the task need a run file: not an MCQ
// task, and no run_cmd naming what to run instead.
func NeedsRunFile(spec Spec) bool {
	return spec.EnvironmentType != "mcq" && spec.Parameters.RunCmd == ""
}

// checkRunFile looks for the run file as the helper does, and checks it
// will start: executable, and with a #! line the environment can run.
func checkRunFile(dir string, spec Spec, list *[]Finding) {
	if !NeedsRunFile(spec) {
		return // no run file (MCQ), or one ingo cannot see from here
	}
	path := FindRunFile(dir)
	f := findings{file: filepath.Join(dir, "run"), list: list}
	if path == "" {
		f.add(SevError, 0, "no run file (%s, in the task folder or the course's %s): every job would end in crash",
			strings.Join(RunFiles, ", "), commonDir)
		return
	}
	f.file = path
	st, err := os.Stat(path)
	if err != nil {
		f.add(SevError, 0, "%v", err)
		return
	}
	head := firstLine(path)
	shebang, hasShebang := strings.CutPrefix(head, "#!")
	if st.Mode().Perm()&0o111 == 0 {
		f.add(SevWarning, 0, "not executable: ingo runs it through its #! line (or bash/python3), but set the bit (chmod +x; in git: git update-index --chmod=+x) so that every tool runs it the same way")
	}
	if !isBinary(path) && !strings.HasSuffix(spec.EnvironmentType, "-ssh") {
		if n := callsSSHStudent(path); n > 0 {
			f.add(SevWarning, n, "calls ssh_student, but the task does not allow SSH (environment_type %s, no ssh_allowed: 'on'): every job that reaches it ends as crash, \"ssh for student requires to allow ssh...\"; use environment_type: docker-ssh",
				spec.EnvironmentType)
		}
	}
	if !hasShebang {
		if !strings.HasSuffix(path, ".py") && !strings.HasSuffix(path, ".py3") && !isBinary(path) {
			f.add(SevWarning, 1, "no #! line: ingo runs it with bash, but INGInious runs such a file with IPython; start it with #!/bin/bash (or name a Python run file run.py)")
		}
		return
	}
	prog := interpreter(shebang)
	known, ok := interpreters[spec.Environment]
	if ok && prog != "" && !slices.Contains(known, prog) {
		f.add(SevWarning, 1, "#!%s: the %s environment probably has no %s (it has %s)",
			strings.TrimSpace(shebang), spec.Environment, prog, strings.Join(known, ", "))
	}
}

// maxScan bounds how much of a run file callsSSHStudent reads.
const maxScan = 1 << 20

// callsSSHStudent is the line (from 1) of the run file's first use of
// ssh_student outside a comment and an import, 0 when there is none.
func callsSSHStudent(path string) int {
	file, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer func() { _ = file.Close() }()
	sc := bufio.NewScanner(io.LimitReader(file, maxScan))
	sc.Buffer(make([]byte, 0, 64*1024), maxScan)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "import ") || strings.HasPrefix(line, "from ") {
			continue
		}
		if sshStudentWord.MatchString(line) {
			return n
		}
	}
	return 0
}

var sshStudentWord = regexp.MustCompile(`\bssh_student\b`)

// interpreter is the program a #! line runs: its base name, or what
// `env` is asked to find.
func interpreter(shebang string) string {
	fields := strings.Fields(shebang)
	if len(fields) == 0 {
		return ""
	}
	prog := filepath.Base(fields[0])
	if prog == "env" {
		for _, a := range fields[1:] {
			if !strings.HasPrefix(a, "-") {
				return filepath.Base(a)
			}
		}
	}
	return prog
}

// firstLine is the file's first line (up to 256 bytes), or "".
func firstLine(path string) string {
	fh, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer fh.Close()
	line, _ := bufio.NewReaderSize(fh, 256).ReadSlice('\n')
	return strings.TrimRight(string(line), "\r\n")
}

// isBinary: a compiled run file (ELF) runs as it is.
func isBinary(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	buf := make([]byte, 4)
	n, _ := fh.Read(buf)
	return bytes.Equal(buf[:n], []byte("\x7fELF"))
}
