package agent

import (
	"errors"
	"math"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// outcome turns what Runtime.Run returned into the attempt's result. cause
// is the cause of the attempt's context (nil while it was not cancelled):
// it decides even when a sloppy runtime forgot to wrap it. The error it
// returns is for the log only; the result is always usable.
func outcome(res messages.JobResult, err, cause error, prevState string) (messages.JobResult, error) {
	if err != nil {
		var f *containers.Failure
		switch {
		case errors.Is(err, containers.ErrKilled) || errors.Is(cause, containers.ErrKilled):
			return messages.NewJobResult(messages.StatusKilled, textKilled, prevState), nil
		case errors.Is(err, containers.ErrShutdown) || errors.Is(cause, containers.ErrShutdown):
			return messages.NewJobResult(messages.StatusCrash, textShutdown, prevState), nil
		case errors.As(err, &f) && f.Public != "":
			return messages.NewJobResult(messages.StatusCrash, f.Public, prevState), f.Err
		default:
			return messages.NewJobResult(messages.StatusCrash, textInternal, prevState), err
		}
	}
	// The grader's result stands even if a kill raced with its end: the
	// job did finish.
	if !res.Result.Status.Valid() {
		return messages.NewJobResult(messages.StatusCrash, textBadStatus, prevState),
			errors.New("runtime returned status " + string(res.Result.Status))
	}
	if math.IsNaN(res.Grade) || math.IsInf(res.Grade, 0) {
		return messages.NewJobResult(messages.StatusCrash, textBadGrade, prevState), nil
	}
	res.Grade = roundGrade(res.Grade)
	return res, nil
}

// roundGrade rounds to 2 decimals, as INGInious does; grades too large to
// scale are left alone.
func roundGrade(g float64) float64 {
	r := math.Round(g*100) / 100
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return g
	}
	return r
}
