package messages_test

import (
	"github.com/ingo-grader/ingo/messages"
)

// Free-form values (input data, tests, custom feedback) are written here in
// the types the decoder gives back for `any`: string, bool, float64, int64
// (every integer, IntDecConvertSignedOrFail), []byte, []any, map[string]any
// and nil. Anything else would not compare equal after a round trip.

var sampleDescription = messages.JobDescription{
	JobID:          "0b9a4f8e-3c1d-4e2a-9f6b-7d5c8e1a2b3c",
	CourseID:       "LINFO1252",
	TaskID:         "malloc",
	TaskBundle:     "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
	TaskBundleMeta: 4242,
	TaskProblems: map[string]any{
		"q1":   map[string]any{"type": "code", "language": "c", "name": "Your malloc"},
		"file": map[string]any{"type": "file", "allowed_exts": []any{".c", ".h"}, "max_size": int64(1 << 20)},
	},
	InputData: map[string]any{
		"@username": "alice",
		"@lang":     "fr",
		"@random":   []any{0.25, 0.5},
		"@state":    "",
		"q1":        "void *my_malloc(size_t n) {\n\treturn NULL; /* é */\n}\n",
		"mcq":       []any{int64(1), int64(3)},
		"file": map[string]any{
			"filename": "malloc.c",
			"value":    []byte("#include <stdlib.h>\nint main(void) { return 0; }\n\x00\xff"),
		},
		"offset": int64(-3),
		"ok":     true,
		"none":   nil,
	},
	EnvironmentType: "docker",
	Environment:     "cpp",
	EnvironmentParameters: messages.EnvironmentParameters{
		Limits: messages.Limits{
			Time:      30,
			HardTime:  90,
			Memory:    512,
			Processes: 64,
			Output:    2 << 20,
			Disk:      100,
		},
		NetworkGrading: true,
		RunCmd:         "python3 run.py",
	},
	Debug: messages.DebugOn,
}

var sampleResult = messages.JobResult{
	Result: messages.Result{Status: messages.StatusFailed, Text: "2 of 3 tests pass.\n\n**q1**: segmentation fault"},
	Grade:  66.67,
	Problems: map[string]messages.Result{
		"q1":   {Status: messages.StatusFailed, Text: "Your malloc returns NULL."},
		"file": {Status: messages.StatusSuccess, Text: "Compiles."},
	},
	Tests: map[string]any{
		"compiles": true,
		"leak":     int64(128),
		"runtime":  1.5,
	},
	Custom: map[string]any{
		"score_detail": map[string]any{"q1": 0.0, "file": 100.0},
		"traces":       []any{"malloc(16)", "free(0x0)"},
	},
	State: "attempt=2",
	// The first bytes of a gzip stream: a realistic start for an archive.
	Archive: []byte{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x01, 0x02, 0x03},
	Stdout:  "compiling...\nrunning 3 tests\n",
	Stderr:  "warning: unused variable 'x'\n",
	Usage: &messages.Usage{WallTime: 1.25, CPUTime: 1.0234, MemoryPeak: 53.2,
		Students: &messages.StudentUsage{Containers: 3, WallTime: 0.9, CPUTime: 0.61, MemoryPeak: 12.5}},
}

var sampleEnvironments = map[string]map[string]messages.EnvironmentInfo{
	"docker": {
		"default": {ID: "sha256:5d0da3dc976460b72c77d94c8a1ad043720b0416bfc16c52c45d4847e53fadb6", Created: 1767225600, Title: "Default", Advertised: true},
		"cpp":     {ID: "sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d", Created: 1767312000, Title: "C/C++", Advertised: true},
	},
	"docker-ssh": {
		"default": {ID: "sha256:5d0da3dc976460b72c77d94c8a1ad043720b0416bfc16c52c45d4847e53fadb6", Created: 1767225600, Ports: []int{22, 8080}},
	},
}

// samples returns one realistic value of every message type, in tag order.
func samples() []messages.Message {
	return []messages.Message{
		&messages.ClientHello{Name: "inginious-webapp", ProtocolVersion: messages.ProtocolVersion},
		&messages.ClientNewJob{
			JobDescription:     sampleDescription,
			Priority:           -5,
			Launcher:           "Frontend - alice",
			WaitForEnvironment: true,
			Frontend:           "uclouvain",
		},
		&messages.ClientKillJob{JobID: sampleDescription.JobID},
		&messages.ClientGetQueue{Ref: "q-17", Limit: 500, After: &messages.QueueCursor{
			EnvironmentType: "docker", Environment: "cpp", Priority: -1, Seq: 1 << 33},
			EnvironmentType: "docker", Environment: "cpp", CourseID: "LINFO1252"},
		&messages.Ping{},
		&messages.BackendUpdateEnvironments{AvailableEnvironments: map[string][]string{
			"docker":     {"cpp", "default", "python3"},
			"docker-ssh": {"default"},
		}},
		&messages.BackendJobQueued{JobID: sampleDescription.JobID},
		&messages.BackendJobStarted{JobID: sampleDescription.JobID, Agent: "grader-01", Attempt: 2},
		&messages.BackendJobDone{JobID: sampleDescription.JobID, JobResult: sampleResult},
		&messages.BackendJobSSHDebug{JobID: sampleDescription.JobID, Host: "grader-01.example.org", Port: 32771, User: "worker", Password: "c0rrect-h0rse"},
		&messages.BackendGetQueue{
			JobsRunning: []messages.QueueRunningJob{{
				JobID: sampleDescription.JobID, IsMine: true, Agent: "grader-01", AgentID: "agent-7f3e",
				Info: "LINFO1252/malloc", Launcher: "Frontend - alice", StartedAt: 1767312000123,
				MaxTime: 30, Attempt: 1, EnvironmentType: "docker", Environment: "cpp", Killing: true,
			}},
			JobsWaiting: []messages.QueueWaitingJob{
				{
					JobID: "5e6f7a8b-0000-4000-8000-000000000001", Info: "LINFO1252/malloc", Launcher: "Frontend - bob",
					MaxTime: -1, Priority: 0, QueuedAt: 1767312000456, EnvironmentType: "docker", Environment: "cpp",
					Position: 1, Reason: messages.WaitSlotsBusy, Attempt: 1,
				},
				{
					JobID: "5e6f7a8b-0000-4000-8000-000000000002", IsMine: true, Info: "docker/rust", Launcher: "ingo submit",
					MaxTime: 10.5, Priority: 3, QueuedAt: 1767312000789, EnvironmentType: "docker", Environment: "rust",
					Position: 1, Reason: messages.WaitNoAgent, Attempt: 2,
				},
			},
			Agents: []messages.QueueAgent{{
				AgentID: "agent-7f3e", Name: "grader-01", Slots: 4, Running: 1,
				Environments: []string{"docker/cpp", "docker/default", "docker-ssh/default"}, LastSeen: 1767312001000,
			}},
			Summary: &messages.QueueSummary{Running: 1, Waiting: 2, Counts: []messages.QueueCount{
				{EnvironmentType: "docker", Environment: "cpp", ClientID: "ingo-api", Frontend: "uclouvain", CourseID: "LINFO1252", Running: 1, Waiting: 1},
				{EnvironmentType: "docker", Environment: "cpp", ClientID: "webapp", CourseID: "LINFO1252", Waiting: 1},
			}},
			Ref:  "q-17",
			Next: &messages.QueueCursor{Running: true, Seq: 4242},
		},
		&messages.Pong{},
		&messages.Unknown{},
		&messages.AgentHello{
			ProtocolVersion:       messages.ProtocolVersion,
			FriendlyName:          "grader-01",
			AvailableJobSlots:     4,
			AvailableEnvironments: sampleEnvironments,
			Session:               "b1946ac92492d2347c6235b4d2611184",
			RunningJobs:           []messages.JobAttempt{{JobID: sampleDescription.JobID, Attempt: 1}},
			LastJobSeq:            1 << 40,
		},
		&messages.AgentJobStarted{JobID: sampleDescription.JobID, Attempt: 1},
		&messages.AgentJobDone{JobID: sampleDescription.JobID, Attempt: 1, JobResult: sampleResult},
		&messages.AgentJobSSHDebug{JobID: sampleDescription.JobID, Attempt: 1, Host: "10.0.0.7", Port: 32771, User: "worker", Password: "c0rrect-h0rse"},
		&messages.BackendNewJob{JobDescription: sampleDescription, Attempt: 1, Seq: 42, Session: "b1946ac92492d2347c6235b4d2611184", Client: "inginious-webapp"},
		&messages.BackendKillJob{JobID: sampleDescription.JobID, Attempt: 1, State: "attempt=1"},
		&messages.Ack{JobID: sampleDescription.JobID, Attempt: 1},
		&messages.Error{Code: messages.CodeStaleAttempt, Text: "attempt 1 is not current (current: 2)", JobID: sampleDescription.JobID, Attempt: 1},
		&messages.AgentJobRefused{JobID: sampleDescription.JobID, Attempt: 2, Reason: "the task files could not be fetched"},
		&messages.BackendAgentConflict{Session: "c2a7e5f0d94b1e3a8f6b7c9d0e1f2a3b", Name: "grader-01",
			Since: 1767312000123, LastSeen: 1767312060456, Timeout: 6000},
		&messages.ClientGetHistory{CourseID: "LINFO1252", Status: messages.StatusFailed, Since: 1767312000000,
			Until: 1767398400000, Limit: 20, Cursor: 4242},
		&messages.BackendHistory{Jobs: []messages.JobRecord{
			{
				JobID: sampleDescription.JobID, ClientID: "inginious-webapp", CourseID: "LINFO1252", TaskID: "malloc",
				User: "alice", Launcher: "Frontend - alice", EnvironmentType: "docker", Environment: "cpp",
				Agent: "agent-7f3e", Attempts: 1, SubmittedAt: 1767312000123, StartedAt: 1767312000456,
				FinishedAt: 1767312001789, ArchiveDropped: 9 << 20, JobResult: sampleResult,
			},
			{
				JobID: "5e6f7a8b-0000-4000-8000-000000000002", ClientID: "ingo-cli", EnvironmentType: "docker",
				Environment: "default", SubmittedAt: 1767312000000, FinishedAt: 1767312000001, Summary: true,
				JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusKilled}},
			},
		}, Next: 17},
		&messages.Batch{Messages: [][]byte{sampleAck, sampleAck}},
	}
}

// sampleAck is an encoded message for the sample Batch.
var sampleAck = func() []byte {
	b, err := messages.Encode(&messages.Ack{JobID: sampleDescription.JobID, Attempt: 1})
	if err != nil {
		panic(err)
	}
	return b
}()
