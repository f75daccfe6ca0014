package docker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// fakeAPI is a hand-written fake of the SDK calls; methods a test does not
// set panic through the nil embedded interface.
type fakeAPI struct {
	dockerAPI
	mu     sync.Mutex
	calls  int
	events func(n int, ctx context.Context) (<-chan events.Message, <-chan error)
	images []image.Summary
}

func (f *fakeAPI) Events(ctx context.Context, _ events.ListOptions) (<-chan events.Message, <-chan error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	return f.events(n, ctx)
}

func (f *fakeAPI) ImageList(context.Context, image.ListOptions) ([]image.Summary, error) {
	return f.images, nil
}

func (f *fakeAPI) Close() error { return nil }

func quiet() Options {
	return Options{AgentID: "fake", Logger: slog.New(slog.DiscardHandler)}
}

// TestWatchImages_Reconnects: a broken event stream is opened again, and
// Changes fires for the events of the new stream (and for the gap).
func TestWatchImages_Reconnects(t *testing.T) {
	t.Parallel()
	f := &fakeAPI{events: func(n int, ctx context.Context) (<-chan events.Message, <-chan error) {
		msgs, errs := make(chan events.Message, 1), make(chan error, 1)
		if n == 1 {
			errs <- errors.New("connection reset")
		} else {
			msgs <- events.Message{Type: events.ImageEventType, Action: events.ActionTag}
		}
		return msgs, errs
	}}
	r := newRuntime(f, quiet())
	defer r.Close()
	select {
	case <-r.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("Changes did not fire after the stream broke and came back")
	}
	f.mu.Lock()
	calls := f.calls
	f.mu.Unlock()
	if calls < 2 {
		t.Errorf("Events called %d times, want a reconnect", calls)
	}
}

func TestEnvironmentsOf_NewestPerNameAndAdvertise(t *testing.T) {
	t.Parallel()
	got := environmentsOf([]image.Summary{
		{ID: "sha256:old", Created: 10, Labels: map[string]string{labelName: "py"}},
		{ID: "sha256:new", Created: 20, Labels: map[string]string{labelName: "py", labelPorts: "22, 80", labelTitle: "Python"}},
		{ID: "sha256:hid", Created: 5, Labels: map[string]string{labelName: "hidden", labelAdvertise: "false"}},
		{ID: "sha256:nol", Created: 5, Labels: map[string]string{labelName: " "}},
	})
	want := map[string]messages.EnvironmentInfo{
		"py":     {ID: "sha256:new", Created: 20, Title: "Python", Ports: []int{22, 80}, Advertised: true},
		"hidden": {ID: "sha256:hid", Created: 5, Advertised: false},
	}
	if len(got) != 1 || len(got["docker"]) != len(want) {
		t.Fatalf("environments = %+v", got)
	}
	for k, w := range want {
		g := got["docker"][k]
		if g.ID != w.ID || g.Created != w.Created || g.Title != w.Title || g.Advertised != w.Advertised || len(g.Ports) != len(w.Ports) {
			t.Errorf("%s = %+v, want %+v", k, g, w)
		}
	}
}

func TestRun_UnknownEnvironmentIsFailure(t *testing.T) {
	t.Parallel()
	f := &fakeAPI{events: blockEvents}
	r := newRuntime(f, quiet())
	defer r.Close()
	job := &containers.Job{AgentID: "fake", Attempt: 1, Desc: &messages.JobDescription{JobID: "j", EnvironmentType: "docker", Environment: "nope"}}
	_, err := r.Run(t.Context(), job, nil)
	var fail *containers.Failure
	if !errors.As(err, &fail) || !strings.Contains(fail.Public, "'nope'") || strings.Contains(fail.Public, "/") {
		t.Errorf("Run = %v, want a Failure naming the environment and no path", err)
	}
}

func blockEvents(_ int, ctx context.Context) (<-chan events.Message, <-chan error) {
	return make(chan events.Message), make(chan error)
}

// TestEnvironments_Aliases: INGInious names are offered as an image's
// environment (also under docker-ssh), never over an image of that name,
// and not when their image is missing.
func TestEnvironments_Aliases(t *testing.T) {
	t.Parallel()
	f := &fakeAPI{events: blockEvents, images: []image.Summary{
		{ID: "sha256:def", Created: 10, Labels: map[string]string{labelName: "default"}},
		{ID: "sha256:own", Created: 10, Labels: map[string]string{labelName: "python3"}},
	}}
	opts := quiet()
	opts.Aliases = map[string]string{"cpp": "default", "python3": "default", "java": "toolchain"}
	opts.SSH = SSHOptions{PortMin: 64120, PortMax: 64121}
	r := newRuntime(f, opts)
	defer r.Close()
	envs, err := r.Environments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{EnvType, EnvTypeSSH} {
		got := envs[typ]
		if got["cpp"].ID != "sha256:def" || got["python3"].ID != "sha256:own" || len(got) != 3 {
			t.Errorf("%s: %+v", typ, got)
		}
		if _, ok := got["java"]; ok {
			t.Errorf("%s: alias of a missing image offered", typ)
		}
	}
}

// TestDefaultAliases_INGIniousNames: the environment names task.yaml
// files of public courses give, and those of INGInious' images since it
// renamed them (2025: java8 became java-8, java became java-21; 2026:
// java-25), are offered by an agent nobody configured, on the image that
// has what their run files need: a course moved from a recent INGInious
// would otherwise see every Java job refused ("no agent offers").
func TestDefaultAliases_INGIniousNames(t *testing.T) {
	t.Parallel()
	for name, image := range map[string]string{
		"python3": "default",
		"cpp":     "toolchain", "pyjavacpp": "toolchain",
		"java": "toolchain", "java7": "toolchain", "java8": "toolchain", "java8judge": "toolchain", "java8scala": "toolchain",
		"java-8": "toolchain", "java-21": "toolchain", "java-25": "toolchain",
	} {
		if got := DefaultOptions().Aliases[name]; got != image {
			t.Errorf("default alias of %s = %q, want %q", name, got, image)
		}
	}
}
