package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/messages"
)

// Set at link time by the Makefile:
//
//	go build -ldflags "-X main.version=v0.1.0 -X main.commit=abc1234" ./cmd/ingo
var (
	version = "dev"
	commit  = ""
)

type versionInfo struct {
	Version         string `json:"version"`
	Commit          string `json:"commit"`
	GoVersion       string `json:"go_version"`
	ProtocolVersion int    `json:"protocol_version"`
}

// buildVersion completes the link-time values with what the Go toolchain
// recorded (module version, VCS revision) when they were not set.
func buildVersion() versionInfo {
	v := versionInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), ProtocolVersion: messages.ProtocolVersion}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && v.Commit == "" {
				v.Commit = s.Value
			}
		}
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:         "version",
		Short:       "Print the version, commit, Go version and protocol version",
		Args:        noArgs,
		Annotations: map[string]string{annotationNoConfig: "yes"},
		RunE: func(*cobra.Command, []string) error {
			v := buildVersion()
			if asJSON {
				return printJSON(a.stdout, v)
			}
			t := newTable(a.stdout)
			t.row("version", v.Version)
			t.row("commit", v.Commit)
			t.row("go", v.GoVersion)
			t.row("protocol", fmt.Sprint(v.ProtocolVersion))
			return t.flush()
		},
	}
	jsonFlag(cmd.Flags(), &asJSON)
	return cmd
}
