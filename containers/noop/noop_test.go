package noop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

func TestNew_Environments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []string
		want    map[string][]string
		wantErr bool
	}{
		{"default: the images ingo ships", nil, map[string][]string{"docker": {"default", "minimal", "toolchain"}}, false},
		{"given replace the default", []string{"docker/python3"}, map[string][]string{"docker": {"python3"}}, false},
		{"several", []string{"docker/a", "docker/b", "docker-ssh/a"}, map[string][]string{"docker": {"a", "b"}, "docker-ssh": {"a"}}, false},
		{"no slash", []string{"docker"}, nil, true},
		{"empty name", []string{"docker/"}, nil, true},
		{"bad type", []string{"do.cker/x"}, nil, true},
		{"space", []string{"docker/a b"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(tt.in...)
			if tt.wantErr {
				if !errors.Is(err, ErrBadEnvironment) {
					t.Fatalf("New(%q) error = %v, want ErrBadEnvironment", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Environments(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d types, want %d: %v", len(got), len(tt.want), got)
			}
			for typ, names := range tt.want {
				for _, n := range names {
					if info, ok := got[typ][n]; !ok || !info.Advertised {
						t.Errorf("missing or hidden %s/%s in %v", typ, n, got)
					}
				}
				if len(got[typ]) != len(names) {
					t.Errorf("type %s: %d names, want %d", typ, len(got[typ]), len(names))
				}
			}
			// A copy: changing it does not change the runtime.
			delete(got, "docker")
			again, _ := r.Environments(t.Context())
			if len(again) != len(tt.want) {
				t.Errorf("Environments returned the runtime's own map")
			}
		})
	}
}

func job() *containers.Job {
	return &containers.Job{AgentID: "a", Attempt: 1, Desc: &messages.JobDescription{JobID: "j", EnvironmentType: "docker", Environment: "default"}}
}

func TestRuntime_Run(t *testing.T) {
	t.Parallel()
	r, _ := New()
	res, err := r.Run(t.Context(), job(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result.Status != messages.StatusSuccess || res.Grade != 100 || res.Result.Text != "noop" {
		t.Errorf("Run = %+v, want success 100 noop", res)
	}
	if r.Name() != "noop" || r.Changes() != nil || r.Close() != nil {
		t.Errorf("Name/Changes/Close not as documented")
	}
	if removed, err := r.Cleanup(t.Context(), containers.CleanupRequest{Others: true}); err != nil || removed != nil {
		t.Errorf("Cleanup = %v, %v", removed, err)
	}
}

func TestRuntime_Run_Cancelled(t *testing.T) {
	t.Parallel()
	r, _ := New()
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(containers.ErrKilled)
	if _, err := r.Run(ctx, job(), nil); !errors.Is(err, containers.ErrKilled) {
		t.Fatalf("Run error = %v, want it to wrap ErrKilled", err)
	}
}

func TestRuntime_Run_NoAllocation(t *testing.T) {
	r, _ := New()
	ctx, j := context.Background(), job()
	if n := testing.AllocsPerRun(100, func() { _, _ = r.Run(ctx, j, nil) }); n != 0 {
		t.Errorf("Run allocates %v times, want 0", n)
	}
}

func BenchmarkRuntime_Run(b *testing.B) {
	r, _ := New()
	ctx, j := context.Background(), job()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Run(ctx, j, nil)
	}
}

// ShippedEnvironments are the grading images of containers/images: each
// directory with a Dockerfile labelled org.inginious.grading.name.
func TestShippedEnvironments(t *testing.T) {
	t.Parallel()
	dockerfiles, err := filepath.Glob(filepath.Join("..", "images", "*", "Dockerfile"))
	if err != nil || len(dockerfiles) == 0 {
		t.Fatalf("no grading image under containers/images: %v", err)
	}
	var shipped []string
	for _, f := range dockerfiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "org.inginious.grading.name") {
			shipped = append(shipped, "docker/"+filepath.Base(filepath.Dir(f)))
		}
	}
	if !slices.Equal(shipped, ShippedEnvironments) {
		t.Errorf("containers/images ships %v, ShippedEnvironments says %v", shipped, ShippedEnvironments)
	}
}
