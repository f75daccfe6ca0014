package taskfile

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
)

// Severity says whether a finding stops a task from working.
type Severity string

const (
	// SevError: the task cannot work as written (INGInious or ingo would
	// refuse it, or every job would end in error or crash).
	SevError Severity = "error"
	// SevWarning: it works, but probably not as meant.
	SevWarning Severity = "warning"
	// SevInfo: something could not be checked, or is worth knowing.
	SevInfo Severity = "info"
)

// Finding is one problem `ingo task check` reports.
type Finding struct {
	Severity Severity `json:"severity"`
	// File is the file the finding is about, as the checked folder was
	// named; Line is its line (1-based), 0 when unknown.
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// String is the compiler-like form editors and CI logs link:
// FILE:LINE: SEVERITY: MESSAGE.
func (f Finding) String() string {
	where := f.File
	if f.Line > 0 {
		where += ":" + strconv.Itoa(f.Line)
	}
	return fmt.Sprintf("%s: %s: %s", where, f.Severity, f.Message)
}

// HasErrors says whether any finding is an error.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == SevError })
}

// sortFindings orders findings by file then line, keeping the order they
// were found in otherwise, so output is stable.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// findings collects what a check finds in one file.
type findings struct {
	file string
	list *[]Finding
}

func (f findings) add(sev Severity, line int, format string, args ...any) {
	*f.list = append(*f.list, Finding{Severity: sev, File: f.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// yamlLine finds the line yaml.v3 names in a syntax or type error.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlError reports a YAML error, at its line when the message names one.
func (f findings) yamlError(err error) {
	line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	f.add(SevError, line, "not valid YAML: %v", err)
}
