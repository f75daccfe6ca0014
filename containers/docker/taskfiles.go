package docker

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/internal/bundle"
)

// workerID is the uid and gid of the run file (the image's user "worker").
const workerID = 4242

// maxTaskBytes bounds the unpacked task folder when the job gives no disk
// limit.
const maxTaskBytes = 1 << 30

// commonDir is a bundle's folder of course common files (bundle.CommonDir,
// INGInious' $common), shown at /course/common. INGInious mounts it
// read-only; here it is the job's own copy, with the course's modes:
// without capabilities the helper can make files read-only only by their
// mode, which copies keep (a run file that copies a common folder and
// then builds in it or edits the copy, as on INGInious, would fail), and
// which hostile code of the same user could undo anyway.
const commonDir = "$common"

// The /course tmpfs holds the common files in whole pages, plus slack.
const (
	pageBytes        = 4096
	commonSlackBytes = 1 << 20
)

// inputJSON is /.ingo/input.json for a job.
func inputJSON(job *containers.Job, ssh *channel.SSHLimits) ([]byte, error) {
	in := contract.Input{
		Input:  map[string]json.RawMessage{},
		Debug:  string(job.Desc.Debug),
		RunCmd: job.Desc.EnvironmentParameters.RunCmd,
		SSH:    ssh,
		Limits: contract.Limits{
			Time:      job.Limits.Time,
			HardTime:  job.Limits.HardTime,
			Memory:    job.Limits.Memory,
			Processes: job.Limits.Processes,
			Output:    job.Limits.Output,
			Disk:      job.Limits.Disk,
		},
	}
	for k, v := range job.Desc.InputData {
		b, err := json.Marshal(jsonable(v))
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", k, err)
		}
		in.Input[k] = b
	}
	return json.Marshal(in)
}

// jsonable turns what a CBOR decoder may produce (maps with interface
// keys) into values encoding/json accepts; []byte stays (base64, as the
// helper expects for an upload's "value").
func jsonable(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = jsonable(e)
		}
		return s
	}
	return v
}

// containerTar checks a job's task files and measures what its container
// needs: input.json, and the room of the course's common files (0: none).
// The tar itself is written at the container's start (writeContainerTar),
// as the helper reads it: the agent keeps no unpacked copy of a job's
// files, which may be 128 MiB.
func containerTar(ctx context.Context, job *containers.Job, ssh *channel.SSHLimits) (input []byte, common int64, err error) {
	if input, err = inputJSON(job, ssh); err != nil {
		return nil, 0, failure("The job's input cannot be given to the grader", err)
	}
	if common, err = writeContainerTar(ctx, io.Discard, job, input); err != nil {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("while reading the task files: %w", context.Cause(ctx))
		}
		return nil, 0, err
	}
	return input, common, nil
}

// writeContainerTar writes to w the tar a new container gets on stdin,
// which its helper unpacks at "/": task/ (the task folder), task/student/,
// .ingo/input.json (input) and archive/, every entry owned by 4242:4242;
// input.json comes before the task files (the helper learns the disk
// bound from it). It returns the room the course's common files need.
func writeContainerTar(ctx context.Context, w io.Writer, job *containers.Job, input []byte) (int64, error) {
	tw := tar.NewWriter(w)
	now := time.Now()
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, Uid: workerID, Gid: workerID, ModTime: now, Format: tar.FormatPAX})
	}
	for _, d := range []string{"task", ".ingo", "archive"} {
		if err := dir(d); err != nil {
			return 0, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ".ingo/input.json", Mode: 0o644, Size: int64(len(input)), Uid: workerID, Gid: workerID, ModTime: now, Format: tar.FormatPAX}); err != nil {
		return 0, err
	}
	if _, err := tw.Write(input); err != nil {
		return 0, err
	}
	student := false
	var common int64
	if job.Task != nil {
		limit := int64(maxTaskBytes)
		if job.Limits.Disk > 0 {
			limit = job.Limits.Disk << 20
		}
		var err error
		if student, common, err = copyTask(ctx, tw, job.Task, limit); err != nil {
			return 0, failure("The task files cannot be read", err)
		}
	}
	if !student {
		if err := dir("task/student"); err != nil {
			return 0, err
		}
	}
	return common, tw.Close()
}

var errTaskTooLarge = errors.New("the task folder is larger than the disk limit")

// copyTask re-packs the bundle's directories and regular files under task/,
// and those of its $common folder (bundle.CommonDir) under course/common/.
// It reports whether the bundle has a student directory, and the room the
// common files take on a tmpfs (whole pages, plus slack; 0 without them).
func copyTask(ctx context.Context, tw *tar.Writer, b containers.TaskBundle, limit int64) (student bool, common int64, err error) {
	var total int64
	err = eachBundleEntry(ctx, b, func(name string, hdr *tar.Header, r io.Reader) error {
		// Every task file is executable, as INGInious makes /task (0777):
		// courses run a custom.sh or a setup script that git keeps as
		// 0644. Common files keep their execute bits.
		mode := int64(0o755)
		if rest, ok := strings.CutPrefix(name, "/"+commonDir); ok && (rest == "" || rest[0] == '/') {
			name, mode = "course/common"+rest, commonMode(hdr)
			common += tmpfsRoom(hdr)
		} else {
			name = "task" + name
		}
		if name == "task/student" {
			student = true
		}
		if hdr.Typeflag == tar.TypeReg {
			if total += hdr.Size; total > limit {
				return errTaskTooLarge
			}
		}
		return copyEntry(tw, hdr, name, mode, r)
	})
	if err != nil {
		return false, 0, err
	}
	if common > 0 {
		common += commonSlackBytes
	}
	return student, common, nil
}

// eachBundleEntry calls fn with every directory and regular file of b (a
// bundle holds nothing else), named as cleaned and rooted ("/run",
// "/$common/lib.sh"), in the bundle's order, but its root; r reads a
// file's contents. A bundle over the bounds of a task folder
// (bundlebounds.go) fails with errBundleBounds, and the reading stops
// once ctx ended.
func eachBundleEntry(ctx context.Context, b containers.TaskBundle, fn func(name string, hdr *tar.Header, r io.Reader) error) (err error) {
	defer func() {
		if errors.Is(err, bundle.ErrInflated) {
			err = fmt.Errorf("%w: once decompressed: %w", errBundleBounds, err)
		}
	}()
	rc, err := b.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return err
	}
	tr := tar.NewReader(bundle.NewInflateBound(ctx, maxBundleTarBytes).Reader(zr))
	var gate bundleGate
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + strings.TrimPrefix(hdr.Name, "./"))
		size := int64(0)
		if hdr.Typeflag == tar.TypeReg {
			size = hdr.Size
		}
		if err := gate.admit(name, size); err != nil {
			return err
		}
		if name == "/" || (hdr.Typeflag != tar.TypeDir && hdr.Typeflag != tar.TypeReg) {
			continue
		}
		if err := fn(name, hdr, tr); err != nil {
			return err
		}
	}
}

// tmpfsRoom is what a bundle entry takes on a tmpfs: a page for its inode
// and entry, and its contents in whole pages.
func tmpfsRoom(hdr *tar.Header) int64 {
	room := int64(pageBytes)
	if hdr.Typeflag == tar.TypeReg {
		room += (hdr.Size + pageBytes - 1) / pageBytes * pageBytes
	}
	return room
}

// commonMode is the mode of a course's common file: it keeps its execute
// bits.
func commonMode(hdr *tar.Header) int64 {
	if hdr.Mode&0o111 == 0 {
		return 0o644
	}
	return 0o755
}

// copyEntry writes a bundle entry to tw as name, the worker's: a directory
// 0755, a file of mode with its contents from r.
func copyEntry(tw *tar.Writer, hdr *tar.Header, name string, mode int64, r io.Reader) error {
	h := &tar.Header{Name: name, Uid: workerID, Gid: workerID, ModTime: hdr.ModTime, Format: tar.FormatPAX}
	if hdr.Typeflag == tar.TypeDir {
		h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
		return tw.WriteHeader(h)
	}
	h.Typeflag, h.Mode, h.Size = tar.TypeReg, mode, hdr.Size
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := io.CopyN(tw, r, hdr.Size)
	return err
}
