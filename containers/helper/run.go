package helper

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/ingo-grader/ingo/containers/channel"
)

// defaultPath is the run file's PATH when the image gives none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func init() {
	register(&command{
		name: "run", usage: "",
		desc:     "run the grader and hand its result to the runtime (the image's entrypoint)",
		internal: true,
		run:      func(e *cmdEnv, _ *parsed) error { return runMain(e) },
	})
}

// runMain is `ingo-helper run`. It fails (non-zero exit) only when it
// cannot hand the result over (file mode: write result.json; stdin mode:
// send it over the channel); every other problem is a result.
func runMain(e *cmdEnv) error {
	// Catch the stop signals first: as PID 1 they would be ignored, in a
	// test they would kill the helper before it forwards them.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	absorbSignals()
	// The grader runs as our uid: without this it could open our stdout
	// through /proc/1/fd/1, where the channel to the agent runs, and
	// garble it.
	keepOwnOOMScore(e.paths.Root)
	if err := notDumpable(); err != nil {
		e.warnf("run", "cannot protect the channel: %v", err)
	}
	reserveThreads(e.paths.Root)
	if !stdinStream(e) {
		return writeResult(e, runJob(e, signals, nil))
	}
	var res Result
	tr := tar.NewReader(e.stdin)
	switch err := extractStdin(e.paths, tr); {
	case errors.Is(err, errNoStream):
		// An empty stdin: file mode.
		return writeResult(e, runJob(e, signals, nil))
	case err != nil:
		e.warnf(Name+" run", "stdin: %v", err)
		// The channel follows the tar on stdin (the agent waits for the
		// marker): read the rest of the tar, then send the crash over it.
		if derr := drainTar(tr); derr != nil {
			return fmt.Errorf("reading the rest of the refused tar: %w", derr)
		}
		res = failed(StatusCrash, "The grading container could not receive its files: "+err.Error(), DefaultOutputLimit)
	}
	// The rest of stdin and stdout become the channel to the agent: the
	// result, run_student, SSH.
	m, err := startMux(e, e.paths.Root+channel.SocketPath)
	if err != nil {
		return err
	}
	defer m.close()
	if res.Result == "" {
		res = runJob(e, signals, m)
	}
	data, err := resultJSON(res)
	if err != nil {
		return err
	}
	if err := m.sendResult(data); err != nil {
		return fmt.Errorf("sending the result over the channel: %w", err)
	}
	return nil
}

// writeResult writes result.json (file mode).
func writeResult(e *cmdEnv, res Result) error {
	data, err := resultJSON(res)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(e.paths.Result, data, true); err != nil {
		return fmt.Errorf("writing the result: %w", err)
	}
	return nil
}

// resultJSON is result.json's content.
func resultJSON(res Result) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the output limit counts bytes as jsonLen does
	if err := enc.Encode(res); err != nil {
		return nil, fmt.Errorf("encoding the result: %w", err)
	}
	return buf.Bytes(), nil
}

// runJob does everything but writing the result.
func runJob(e *cmdEnv, signals <-chan os.Signal, m *mux) Result {
	p := e.paths
	_ = os.Remove(p.Result) // a stale result must not pass for this run's
	in, err := loadInput(p.Input)
	if err != nil {
		e.warnf(Name+" run", "%v", err)
		return failed(StatusCrash, "The grading container could not read its job input: "+err.Error(), DefaultOutputLimit)
	}
	limit := in.Limits.OutputLimit()
	// Start from no feedback, whatever an earlier run left.
	if err := os.Remove(p.Feedback); err != nil && !errors.Is(err, os.ErrNotExist) {
		e.warnf(Name+" run", "removing an old feedback: %v", err)
	}
	if err := os.MkdirAll(p.Student, 0o755); err != nil {
		e.warnf(Name+" run", "creating %s: %v", p.Student, err)
	}
	uploads, err := materialiseUploads(p, in)
	if err != nil {
		e.warnf(Name+" run", "%v", err)
	}
	if err := writeInputData(p, in, uploads); err != nil {
		e.warnf(Name+" run", "%v", err)
	}
	var o *outcome
	if in.Debug == "ssh" {
		o = sshDebugOutcome(e, m, in, limit, signals)
	} else {
		cmd, err := findRunCommand(p, in.RunCmd)
		switch {
		case errors.Is(err, errNoRunFile):
			return failed(StatusCrash, "No run file: the task folder has none of "+strings.Join(runFileNames, ", ")+
				" and the task sets no run_cmd.", limit)
		case err != nil:
			return failed(StatusCrash, "The run file cannot be started: "+err.Error(), limit)
		}
		o = runGrader(e, cmd, runEnv(e, limit), limit, signals)
	}
	if o.failure != nil {
		return buildResult(nil, nil, o, limit)
	}
	tgz, over, skipped, err := packArchive(p.Archive, limit)
	for _, s := range skipped {
		e.warnf(Name+" run", "archive: left out: %v", s)
	}
	if err != nil {
		e.warnf(Name+" run", "%v", err)
	}
	o.archive, o.archiveOver = tgz, over
	fb, fbErr := newFeedbackStore(p, 0).Load()
	return buildResult(fb, fbErr, o, limit)
}

func failed(status, text string, limit int64) Result {
	return buildResult(nil, nil, &outcome{exitCode: -1, failure: &verdict{status, text}}, limit)
}

// runEnv is the run file's environment: a clean one, so nothing of the
// runtime leaks in. PATH comes from the image (its tools stay found), HOME
// is /task as in INGInious; INGO_PASS_ENV lets an image pass more (e.g.
// JAVA_HOME).
func runEnv(e *cmdEnv, limit int64) []string {
	path := e.getenv("PATH")
	if path == "" {
		path = defaultPath
	}
	env := []string{
		"PATH=" + path,
		"HOME=" + e.paths.Task,
		"LANG=C.UTF-8",
		OutputLimitEnv + "=" + strconv.FormatInt(limit, 10),
	}
	// StudentSpecEnv never: it holds what the student must not read.
	fixed := map[string]bool{"PATH": true, "HOME": true, "LANG": true, OutputLimitEnv: true, StudentSpecEnv: true}
	if root := e.getenv(RootEnv); root != "" {
		env = append(env, RootEnv+"="+root)
		fixed[RootEnv] = true
	}
	for _, name := range strings.Fields(e.getenv(PassEnv)) {
		if v := e.getenv(name); v != "" && !fixed[name] {
			env = append(env, name+"="+v)
			fixed[name] = true
		}
	}
	return env
}
