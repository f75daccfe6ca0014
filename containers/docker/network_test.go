package docker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
)

// networkFake answers NetworkInspect with one network, or an error.
type networkFake struct {
	*fakeAPI
	n   network.Inspect
	err error
}

func (f *networkFake) NetworkInspect(context.Context, string, network.InspectOptions) (network.Inspect, error) {
	return f.n, f.err
}

// TestCheckNetwork_WarnsWhenJobsReachEachOther: a review's student code in
// one network_grading job read, on Docker's default bridge, the hidden
// expected answers another job's grader served on its test server: the
// agent says so at start when the network lets containers reach each
// other, and not when it does not.
func TestCheckNetwork_WarnsWhenJobsReachEachOther(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		n    network.Inspect
		err  error
		want string // in the log; empty: no warning
	}{
		{"default bridge", network.Inspect{Name: "bridge", Driver: "bridge", Options: map[string]string{iccOption: "true"}}, nil, "reach each other"},
		{"bridge network made without the option", network.Inspect{Name: "jobs", Driver: "bridge"}, nil, "reach each other"},
		{"bridge network without icc", network.Inspect{Name: "jobs", Driver: "bridge", Options: map[string]string{iccOption: "false"}}, nil, ""},
		{"another driver", network.Inspect{Name: "mv", Driver: "macvlan"}, nil, "may reach each other"},
		{"the host's network", network.Inspect{Name: "host", Driver: "host"}, nil, "share this host's network"},
		{"none", network.Inspect{Name: "none", Driver: "null"}, nil, ""},
		{"missing", network.Inspect{}, errors.New("network jobs not found"), "cannot be inspected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			f := &networkFake{fakeAPI: &fakeAPI{events: func(int, context.Context) (<-chan events.Message, <-chan error) {
				return make(chan events.Message), make(chan error)
			}}, n: tc.n, err: tc.err}
			opts := quiet()
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			r := newRuntime(f, opts)
			defer r.Close()
			r.checkNetwork(t.Context())
			switch got := logs.String(); {
			case tc.want == "" && got != "":
				t.Errorf("warned: %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("log %q, want a warning with %q", got, tc.want)
			}
		})
	}
}
