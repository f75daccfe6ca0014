package agent

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

func TestConfig_withDefaults(t *testing.T) {
	t.Parallel()
	c, err := Config{ID: "a1"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ID: "a1", Name: "a1", Prefix: messages.DefaultPrefix, Slots: runtime.NumCPU(), Memory: machineMemory(),
		HeartbeatInterval: time.Second, ResultRetry: 2 * time.Second, CleanupInterval: time.Minute,
		FlushTimeout: 5 * time.Second, DefaultLimits: DefaultJobLimits, MaxLimits: DefaultMaxLimits,
	}
	if c != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	c, _ = Config{ID: "a1", DefaultLimits: messages.Limits{Time: 10}}.withDefaults()
	if c.DefaultLimits.HardTime != 30 {
		t.Errorf("default hard time follows a configured time: got %v", c.DefaultLimits.HardTime)
	}

	for _, bad := range []Config{{}, {ID: "a.b"}, {ID: "a", Slots: -1}, {ID: "a", ResultRetry: -time.Second},
		{ID: "a", Name: strings.Repeat("n", messages.MaxNameLength+1)}} {
		if _, err := bad.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err = %v, want ErrInvalidConfig", bad, err)
		}
	}
	if _, err := New(nil, nil, nil, Config{ID: "a"}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New without connection: %v", err)
	}
}

func TestEffectiveLimits(t *testing.T) {
	t.Parallel()
	def := messages.Limits{Time: 30, HardTime: 100, Memory: 256, Processes: 512, Output: 2000, Disk: 256}
	ceil := messages.Limits{Time: 600, HardTime: 1800, Memory: 4096, Processes: 4096, Output: 16000, Disk: 4096}
	tests := []struct {
		name string
		job  messages.Limits
		want messages.Limits
	}{
		{"all default", messages.Limits{}, def},
		{"negative is default", messages.Limits{Time: -1, Memory: -5}, def},
		{"time gives 3x hard time", messages.Limits{Time: 7}, messages.Limits{Time: 7, HardTime: 21, Memory: 256, Processes: 512, Output: 2000, Disk: 256}},
		{"hard time given", messages.Limits{Time: 7, HardTime: 8}, messages.Limits{Time: 7, HardTime: 8, Memory: 256, Processes: 512, Output: 2000, Disk: 256}},
		{"capped time caps derived hard time", messages.Limits{Time: 1000}, messages.Limits{Time: 600, HardTime: 1800, Memory: 256, Processes: 512, Output: 2000, Disk: 256}},
		{"all capped", messages.Limits{Time: 1e9, HardTime: 1e9, Memory: 1e9, Processes: 1e9, Output: 1e9, Disk: 1e9}, ceil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := effectiveLimits(tt.job, def, ceil); got != tt.want {
				t.Errorf("effectiveLimits(%+v) = %+v, want %+v", tt.job, got, tt.want)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	ok := messages.JobResult{Result: messages.Result{Status: messages.StatusFailed, Text: "t"}, Grade: 66.666666, State: "new"}
	tests := []struct {
		name   string
		res    messages.JobResult
		err    error
		cause  error
		status messages.Status
		text   string
		grade  float64
		state  string
		logged bool
	}{
		{"result rounded", ok, nil, nil, messages.StatusFailed, "t", 66.67, "new", false},
		{"result stands against a late kill", ok, nil, containers.ErrKilled, messages.StatusFailed, "t", 66.67, "new", false},
		{"killed", messages.JobResult{}, fmt.Errorf("x: %w", containers.ErrKilled), containers.ErrKilled, messages.StatusKilled, textKilled, 0, "prev", false},
		{"killed, cause not wrapped", messages.JobResult{}, errors.New("docker: context canceled"), containers.ErrKilled, messages.StatusKilled, textKilled, 0, "prev", false},
		{"shutdown", messages.JobResult{}, fmt.Errorf("x: %w", containers.ErrShutdown), containers.ErrShutdown, messages.StatusCrash, textShutdown, 0, "prev", false},
		{"failure", messages.JobResult{}, &containers.Failure{Public: "no image", Err: errors.New("404")}, nil, messages.StatusCrash, "no image", 0, "prev", true},
		{"failure without text", messages.JobResult{}, &containers.Failure{Err: errors.New("404")}, nil, messages.StatusCrash, textInternal, 0, "prev", true},
		{"other error", messages.JobResult{}, errors.New("disk full"), nil, messages.StatusCrash, textInternal, 0, "prev", true},
		{"invalid status", messages.JobResult{Result: messages.Result{Status: "great"}}, nil, nil, messages.StatusCrash, textBadStatus, 0, "prev", true},
		{"NaN grade", messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}, Grade: math.NaN()}, nil, nil, messages.StatusCrash, textBadGrade, 0, "prev", false},
		{"Inf grade", messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}, Grade: math.Inf(-1)}, nil, nil, messages.StatusCrash, textBadGrade, 0, "prev", false},
		{"huge grade kept", messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}, Grade: math.MaxFloat64}, nil, nil, messages.StatusSuccess, "", math.MaxFloat64, "", false},
		{"negative grade kept", messages.JobResult{Result: messages.Result{Status: messages.StatusFailed}, Grade: -12.345}, nil, nil, messages.StatusFailed, "", -12.35, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, logErr := outcome(tt.res, tt.err, tt.cause, "prev")
			if got.Result.Status != tt.status || got.Result.Text != tt.text || got.Grade != tt.grade || got.State != tt.state {
				t.Errorf("outcome = %s %q %v %q, want %s %q %v %q", got.Result.Status, got.Result.Text, got.Grade, got.State, tt.status, tt.text, tt.grade, tt.state)
			}
			if (logErr != nil) != tt.logged {
				t.Errorf("logged error = %v, want logged %v", logErr, tt.logged)
			}
		})
	}
}

func TestRecent(t *testing.T) {
	t.Parallel()
	r := newRecent(2)
	a, b, c := messages.JobAttempt{JobID: "a", Attempt: 1}, messages.JobAttempt{JobID: "b", Attempt: 1}, messages.JobAttempt{JobID: "c", Attempt: 1}
	r.add(a)
	r.add(b)
	r.add(b)
	if !r.has(a) || !r.has(b) {
		t.Fatal("forgot too early")
	}
	r.add(c)
	if r.has(a) || !r.has(b) || !r.has(c) {
		t.Errorf("oldest not forgotten first: a %v b %v c %v", r.has(a), r.has(b), r.has(c))
	}
}
