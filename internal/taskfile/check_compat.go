package taskfile

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Bounds of the source scan, so that `ingo task check` of a folder with
// a large data set stays quick: only so many files are read, and only
// the start of each.
const (
	compatMaxFiles = 2000
	compatMaxBytes = 1 << 20
)

// compatRule is a source line that worked on INGInious' grading images
// of the years public courses were written in (Rocky Linux 8 until 2026:
// glibc 2.28, Python 3.8; PyYAML 5) and does not on ingo's (Debian
// bookworm: glibc 2.36, Python 3.11, PyYAML 6), seen in public courses.
// ingo cannot run these lines differently: the image's libraries decide,
// so the task author hears it before the students do. (An array sized
// SIGSTKSZ, UCL-INGI's CTester, compiles, and yaml.load without a Loader
// loads: the images keep both as they were, see
// containers/images/default/Dockerfile.)
type compatRule struct {
	lang string // "c" or "python": which files it reads
	re   *regexp.Regexp
	// message says why and what to do; %s is what re matched.
	message string
}

var compatRules = []compatRule{
	{
		lang: "python",
		re:   regexp.MustCompile(`\b_count_relevant_tb_levels\b`),
		message: "unittest's TestResult._count_relevant_tb_levels was removed in Python 3.11 (ingo's images; INGInious' " +
			"Rocky Linux 8 ones had 3.8): calling it raises AttributeError, in the middle of the test report",
	},
}

// checkCompat reads the task's C and Python sources, and those of the
// course's $common (which run files import), for the lines of
// compatRules: one warning per file and rule, at its first such line.
func checkCompat(dir string, list *[]Finding) {
	files := 0
	for _, root := range []string{dir, filepath.Join(dir, "..", commonDir)} {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil //nolint:nilerr // an unreadable entry is skipped; the rest is still checked
			}
			if d.IsDir() {
				if path != root && filepath.Base(path) == commonDir {
					return fs.SkipDir // another course's folder below this one
				}
				return nil
			}
			if files >= compatMaxFiles {
				return fs.SkipAll
			}
			lang := sourceLanguage(path, d)
			if lang == "" {
				return nil
			}
			files++
			scanCompat(path, lang, list)
			return nil
		})
	}
}

// sourceLanguage is "c" for C and C++ sources and headers, "python" for
// Python modules and for run files whose #! line runs Python (INGInious
// runs run.py and run.py3 with python3 whatever their first line).
func sourceLanguage(path string, d fs.DirEntry) string {
	if !d.Type().IsRegular() {
		return ""
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".c", ".h", ".cc", ".cpp", ".hpp":
		return "c"
	case ".py", ".py3":
		return "python"
	}
	if filepath.Base(path) == "run" && strings.Contains(interpreter(strings.TrimPrefix(firstLine(path), "#!")), "python") {
		return "python"
	}
	return ""
}

// scanCompat reports the rules of lang that the file's lines match.
func scanCompat(path, lang string, list *[]Finding) {
	fh, err := os.Open(path)
	if err != nil {
		return
	}
	defer fh.Close()
	f := findings{file: path, list: list}
	done := make([]bool, len(compatRules))
	sc := bufio.NewScanner(io.LimitReader(fh, compatMaxBytes))
	sc.Buffer(make([]byte, 0, 64<<10), compatMaxBytes)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if isComment(lang, text) {
			continue
		}
		for i, rule := range compatRules {
			if done[i] || rule.lang != lang {
				continue
			}
			m := rule.re.FindStringSubmatch(text)
			if m == nil {
				continue
			}
			done[i] = true
			what := m[0]
			if len(m) > 1 {
				what = m[1]
			}
			if strings.Contains(rule.message, "%[1]s") {
				f.add(SevWarning, line, rule.message, what)
			} else {
				f.add(SevWarning, line, "%s", rule.message)
			}
		}
	}
}

// isComment says whether a line is only a comment: # in Python; //, or
// a line of a block comment starting with /* or *, in C (code after a
// comment's end on the same line is rare enough to be missed).
func isComment(lang, line string) bool {
	t := strings.TrimSpace(line)
	if lang == "python" {
		return strings.HasPrefix(t, "#")
	}
	return strings.HasPrefix(t, "//") || strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "*")
}
