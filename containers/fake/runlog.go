package fake

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// OpenRunLog opens (creating it if needed) a run log file for
// Options.RunLog in append mode: every line is one write(2) at the end of
// the file, so several agent processes can append to the same file without
// their lines interleaving. The caller closes it after the runtime.
func OpenRunLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fake run log: %w", err)
	}
	return f, nil
}

// logStart writes "start <unix-nanos> <agent-id> <job-id> <attempt>".
func (r *Runtime) logStart(job *containers.Job) {
	r.logLine("start", job, "")
}

// logEnd writes "end <unix-nanos> <agent-id> <job-id> <attempt> <status>".
func (r *Runtime) logEnd(job *containers.Job, status messages.Status) {
	r.logLine("end", job, status)
}

func (r *Runtime) logLine(event string, job *containers.Job, status messages.Status) {
	if r.runLog == nil {
		return
	}
	// Built whole first: one Write per line.
	line := make([]byte, 0, 128)
	line = append(line, event...)
	line = append(line, ' ')
	line = strconv.AppendInt(line, time.Now().UnixNano(), 10)
	line = append(line, ' ')
	line = append(line, job.AgentID...)
	line = append(line, ' ')
	line = append(line, job.ID()...)
	line = append(line, ' ')
	line = strconv.AppendInt(line, int64(job.Attempt), 10)
	if status != "" {
		line = append(line, ' ')
		line = append(line, status...)
	}
	line = append(line, '\n')
	r.logMu.Lock()
	_, err := r.runLog.Write(line)
	r.logMu.Unlock()
	if err != nil {
		r.mu.Lock()
		r.stats.LogErrors++
		r.mu.Unlock()
	}
}

// endStatus is the status an attempt ended with, as the agent reports it:
// the result's status, killed when a kill cancelled it, crash for any other
// error (agent shutdown, removal by Cleanup).
func endStatus(res messages.JobResult, err error) messages.Status {
	switch {
	case err == nil:
		return res.Result.Status
	case errors.Is(err, containers.ErrKilled):
		return messages.StatusKilled
	default:
		return messages.StatusCrash
	}
}
