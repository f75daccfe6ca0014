package helper

import (
	"os"
	"path/filepath"

	"github.com/ingo-grader/ingo/containers/helper/contract"
)

// The contract with the runtime lives in containers/helper/contract, which
// containers/docker imports without linking the helper; these are its
// names in the helper's own code.

const (
	TaskDir      = contract.TaskDir
	StudentDir   = contract.StudentDir
	IngoDir      = contract.IngoDir
	CourseDir    = contract.CourseDir
	CommonDir    = contract.CommonDir
	ArchiveDir   = contract.ArchiveDir
	InputFile    = contract.InputFile
	ResultFile   = contract.ResultFile
	FeedbackFile = contract.FeedbackFile
	FilesDir     = contract.FilesDir
	InputData    = contract.InputDataFile
	PassEnv      = contract.PassEnv
	// StudentSpecEnv: the student container's spec (student.go).
	StudentSpecEnv = contract.StudentSpecEnv

	DefaultOutputLimit = contract.DefaultOutputLimit

	// RootEnv, when set, prefixes every path above. For tests only.
	RootEnv = "INGO_HELPER_ROOT"
)

const (
	StatusSuccess  = contract.StatusSuccess
	StatusFailed   = contract.StatusFailed
	StatusError    = contract.StatusError
	StatusCrash    = contract.StatusCrash
	StatusTimeout  = contract.StatusTimeout
	StatusOverflow = contract.StatusOverflow
	StatusKilled   = contract.StatusKilled
)

const (
	CutStdout   = contract.CutStdout
	CutStderr   = contract.CutStderr
	CutText     = contract.CutText
	CutProblems = contract.CutProblems
	CutFeedback = contract.CutFeedback
	CutArchive  = contract.CutArchive
)

type (
	Input         = contract.Input
	Limits        = contract.Limits
	Result        = contract.Result
	ProblemResult = contract.ProblemResult
)

// Paths are the container paths, possibly under a test root.
type Paths struct {
	Root     string // "" in a real container
	Task     string
	Student  string
	Ingo     string
	Archive  string
	Input    string
	Result   string
	Feedback string
	Lock     string
	Files    string
	// InputData is INGInious' /.__input/__inputdata.json (see
	// writeInputData).
	InputData string
}

// NewPaths returns the paths under root ("" for the real ones).
func NewPaths(root string) Paths {
	j := func(p string) string {
		if root == "" {
			return p
		}
		return filepath.Join(root, p)
	}
	return Paths{
		Root:      root,
		Task:      j(TaskDir),
		Student:   j(StudentDir),
		Ingo:      j(IngoDir),
		Archive:   j(ArchiveDir),
		Input:     j(InputFile),
		Result:    j(ResultFile),
		Feedback:  j(FeedbackFile),
		Lock:      j(FeedbackFile + ".lock"),
		Files:     j(FilesDir),
		InputData: j(InputData),
	}
}

// PathsFromEnv honours RootEnv.
func PathsFromEnv() Paths { return NewPaths(os.Getenv(RootEnv)) }
