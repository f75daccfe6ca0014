package docker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
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
)

// workerID is the uid and gid of the run file (the image's user "worker").
const workerID = 4242

// maxTaskBytes bounds the unpacked task folder when the job gives no disk
// limit.
const maxTaskBytes = 1 << 30

// commonDir is a bundle's folder of course common files (bundle.CommonDir,
// INGInious' $common), shown at /course/common.
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

// containerTar is the tar copied to "/" of a new container: task/ (the task
// folder), task/student/, .ingo/input.json and archive/, every entry owned
// by 4242:4242; input.json comes before the task files (the helper learns
// the disk bound from it). It also returns the size of input.json.
// containerTar is the tar the container gets on stdin, the size of its
// input.json, and the room the course's common files need (0: none).
func containerTar(job *containers.Job, ssh *channel.SSHLimits) (*bytes.Buffer, int64, int64, error) {
	buf, input, common, err := buildTar(job, ssh)
	return buf, int64(len(input)), common, err
}

func buildTar(job *containers.Job, ssh *channel.SSHLimits) (*bytes.Buffer, []byte, int64, error) {
	input, err := inputJSON(job, ssh)
	if err != nil {
		return nil, nil, 0, failure("The job's input cannot be given to the grader", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, Uid: workerID, Gid: workerID, ModTime: now, Format: tar.FormatPAX})
	}
	for _, d := range []string{"task", ".ingo", "archive"} {
		if err := dir(d); err != nil {
			return nil, nil, 0, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ".ingo/input.json", Mode: 0o644, Size: int64(len(input)), Uid: workerID, Gid: workerID, ModTime: now, Format: tar.FormatPAX}); err != nil {
		return nil, nil, 0, err
	}
	if _, err := tw.Write(input); err != nil {
		return nil, nil, 0, err
	}
	student := false
	var common int64
	if job.Task != nil {
		limit := int64(maxTaskBytes)
		if job.Limits.Disk > 0 {
			limit = job.Limits.Disk << 20
		}
		if student, common, err = copyTask(tw, job.Task, limit); err != nil {
			return nil, nil, 0, failure("The task files cannot be read", err)
		}
	}
	if !student {
		if err := dir("task/student"); err != nil {
			return nil, nil, 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, nil, 0, err
	}
	return &buf, input, common, nil
}

var errTaskTooLarge = errors.New("the task folder is larger than the disk limit")

// copyTask re-packs the bundle's directories and regular files under task/,
// and those of its $common folder (bundle.CommonDir) under course/common/.
// It reports whether the bundle has a student directory, and the room the
// common files take on a tmpfs (whole pages, plus slack; 0 without them).
func copyTask(tw *tar.Writer, b containers.TaskBundle, limit int64) (student bool, common int64, err error) {
	rc, err := b.Open()
	if err != nil {
		return false, 0, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return false, 0, err
	}
	tr := tar.NewReader(zr)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			if common > 0 {
				common += commonSlackBytes
			}
			return student, common, nil
		}
		if err != nil {
			return false, 0, err
		}
		name := path.Clean("/" + strings.TrimPrefix(hdr.Name, "./"))
		if name == "/" {
			continue
		}
		inCommon := false
		if rest, ok := strings.CutPrefix(name, "/"+commonDir); ok && (rest == "" || rest[0] == '/') {
			name, inCommon = "course/common"+rest, true
			common += pageBytes // its inode and entry
		} else {
			name = "task" + name
		}
		if name == "task/student" {
			student = true
		}
		h := &tar.Header{Name: name, Uid: workerID, Gid: workerID, ModTime: hdr.ModTime, Format: tar.FormatPAX}
		switch hdr.Typeflag {
		case tar.TypeDir:
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
			if err := tw.WriteHeader(h); err != nil {
				return false, 0, err
			}
		case tar.TypeReg:
			total += hdr.Size
			if total > limit {
				return false, 0, errTaskTooLarge
			}
			if inCommon {
				common += (hdr.Size + pageBytes - 1) / pageBytes * pageBytes
			}
			// Every task file is executable, as INGInious makes /task
			// (0777): courses run a custom.sh or a setup script that git
			// keeps as 0644. Common files keep their execute bits.
			mode := int64(0o755)
			if inCommon && hdr.Mode&0o111 == 0 {
				mode = 0o644
			}
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, mode, hdr.Size
			if err := tw.WriteHeader(h); err != nil {
				return false, 0, err
			}
			if _, err := io.CopyN(tw, tr, hdr.Size); err != nil {
				return false, 0, err
			}
		default:
			// Bundles hold directories and regular files only.
			continue
		}
	}
}
