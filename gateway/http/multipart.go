package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"github.com/ingo-grader/ingo/internal/bundle"
)

// maxFileParts bounds the file parts of one submission (each is one
// answer, to one problem).
const maxFileParts = 1000

func newJobID() string { return uuid.NewString() }

// parseMultipart reads the parts of POST /api/v1/jobs, one at a time, as
// they come: "job" (the JSON), "task" (the task folder as an archive),
// "file:<pid>" (file answers). The job and file parts are counted against
// the size of one job's message as they are read (see upload.go).
func (s *Server) parseMultipart(r *http.Request) (sub submission, cleanup func(), err error) {
	dir, cleanup, err := tempDir()
	if err != nil {
		return sub, cleanup, err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return sub, cleanup, errf(http.StatusBadRequest, "bad_multipart", "the multipart body cannot be read: "+err.Error())
	}
	sub.files = map[string]map[string]any{}
	sawJob := false
	fileBytes := s.jobLimit() // left for the file parts together
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sub, cleanup, multipartError(err)
		}
		name := part.FormName()
		switch {
		case name == "job":
			if sawJob {
				return sub, cleanup, errf(http.StatusBadRequest, "bad_multipart", "the body holds two job parts")
			}
			sawJob = true
			lim := s.jsonLimit()
			body := limitReader(part, lim, tooLarge(`the "job" part`, lim, "send files as file parts or in the task folder"))
			if err := decodeJSON(body, &sub.req, s.admitValues(r, &cleanup)); err != nil {
				return sub, cleanup, err
			}
		case name == "task":
			if sub.taskDir != "" {
				return sub, cleanup, errf(http.StatusBadRequest, "bad_multipart", "the body holds two task parts")
			}
			var release func()
			sub.taskDir, release, err = s.extractedTask(r.Context(), part, dir, filepath.Join(dir, "task"))
			removeDir := cleanup
			cleanup = func() { removeDir(); release() }
			if err != nil {
				return sub, cleanup, err
			}
		case strings.HasPrefix(name, "file:") && len(name) > len("file:"):
			pid := strings.TrimPrefix(name, "file:")
			if _, dup := sub.files[pid]; dup {
				return sub, cleanup, errf(http.StatusBadRequest, "bad_input", fmt.Sprintf("two files for problem %q", pid))
			}
			if len(sub.files) == maxFileParts {
				return sub, cleanup, errf(http.StatusBadRequest, "bad_multipart", fmt.Sprintf("more than %d file parts", maxFileParts))
			}
			data, err := readFilePart(part, dir, &fileBytes, s.jobLimit())
			if err != nil {
				return sub, cleanup, err
			}
			fn := part.FileName()
			if fn == "" {
				fn = pid
			}
			sub.files[pid] = map[string]any{"filename": fn, "value": data}
		default:
			return sub, cleanup, errf(http.StatusBadRequest, "bad_multipart",
				fmt.Sprintf("unknown part %q; the parts are job, task and file:<problem id>", name))
		}
	}
	if !sawJob {
		return sub, cleanup, errf(http.StatusBadRequest, "bad_multipart", `no "job" part: send the job's JSON in a part named job`)
	}
	return sub, cleanup, nil
}

// readFilePart spools a file part to dir, counting it against *left (of
// limit), then reads it back into a slice of its exact size: a part over
// the limit is refused having cost no memory, and one under it costs its
// size, not a growing buffer's.
func readFilePart(part io.Reader, dir string, left *int64, limit int64) ([]byte, error) {
	f, err := os.CreateTemp(dir, "file-")
	if err != nil {
		return nil, fmt.Errorf("spool a file part: %w", err)
	}
	defer f.Close()
	over := tooLarge("the file parts together", limit,
		"they travel in one NATS message with the job (max_payload): put large files in the task folder, or ask the operator to raise max_payload")
	n, err := io.Copy(f, limitReader(part, *left, over))
	if err != nil {
		return nil, multipartError(err)
	}
	*left -= n
	data := make([]byte, n)
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read a spooled file part: %w", err)
	}
	return data, nil
}

// multipartError keeps a body over MaxBody a 413, and an error that
// knows its answer as it is.
func multipartError(err error) error {
	var tooBig *http.MaxBytesError
	var he *httpError
	if errors.As(err, &tooBig) || errors.As(err, &he) {
		return err
	}
	return errf(http.StatusBadRequest, "bad_multipart", "the multipart body cannot be read: "+err.Error())
}

// saveAndExtract writes the archive to tmp (zip needs random access) and
// unpacks it into dest.
func saveAndExtract(r io.Reader, tmp, dest string) error {
	f, err := os.CreateTemp(tmp, "archive-")
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		return multipartError(err)
	}
	return extractTask(f, dest)
}

// extractedTask unpacks and returns the task folder inside dest, and
// what frees its share of taskDisk: call it once dest is removed.
func (s *Server) extractedTask(ctx context.Context, r io.Reader, tmp, dest string) (string, func(), error) {
	// A few KiB of gzip unpack to bundle.DefaultMaxBytes: reserve that
	// much before, keep what the folder takes.
	reserved := int64(bundle.DefaultMaxBytes)
	if err := s.taskDisk.Acquire(ctx, reserved); err != nil {
		return "", func() {}, errf(http.StatusServiceUnavailable, "busy", "gave up waiting for other task folders to be unpacked: "+err.Error())
	}
	release := func(n int64) {
		if n > 0 {
			s.taskDisk.Release(n)
		}
	}
	if err := saveAndExtract(r, tmp, dest); err != nil {
		return "", func() { release(reserved) }, err
	}
	used := min(treeBytes(dest), reserved)
	release(reserved - used)
	return taskRoot(dest), func() { release(used) }, nil
}

// treeBytes is the size of the regular files under dir.
func treeBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// postTask stores a task folder (a "task" part, or the archive as the
// whole body) and answers its digest, for task_bundle in later jobs.
func (s *Server) postTask(w http.ResponseWriter, r *http.Request) {
	release, err := s.reserveUpload(w, r)
	defer release()
	if err != nil {
		fail(w, err)
		return
	}
	dir, cleanup, err := tempDir()
	unpacked := func() {} // frees the folder's share of taskDisk
	defer func() { cleanup(); unpacked() }()
	if err != nil {
		fail(w, err)
		return
	}
	var taskDir string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		taskDir, unpacked, err = s.taskFromMultipart(r, dir)
	} else {
		taskDir, unpacked, err = s.extractedTask(r.Context(), r.Body, dir, filepath.Join(dir, "task"))
	}
	if err != nil {
		fail(w, err)
		return
	}
	// Read now, as for a job's task part: jobs naming the bundle take
	// their environment and limits from it (taskSpecs).
	spec, err := s.readTaskSpec(r.Context(), taskDir)
	if err != nil {
		fail(w, err)
		return
	}
	cost := specCost(taskDir, spec)
	if !s.specs.fits(cost) {
		fail(w, errSpecTooLarge(cost, s.specs.max))
		return
	}
	digest, err := s.client.UploadTask(r.Context(), taskDir)
	if err != nil {
		fail(w, errf(http.StatusBadGateway, "upload_failed", "the task could not be stored in NATS: "+err.Error()))
		return
	}
	p := who(r)
	s.storedTask(p, digest)
	s.specs.add(p.owner(), digest, spec, cost)
	writeJSON(w, http.StatusCreated, map[string]string{"task_bundle": digest})
}

// taskFromMultipart is the task folder of the body's one part, and what
// frees its share of taskDisk (extractedTask).
func (s *Server) taskFromMultipart(r *http.Request, dir string) (taskDir string, release func(), err error) {
	release = func() {}
	mr, err := r.MultipartReader()
	if err != nil {
		return "", release, errf(http.StatusBadRequest, "bad_multipart", "the multipart body cannot be read: "+err.Error())
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", release, multipartError(err)
		}
		if part.FormName() != "task" || taskDir != "" {
			return "", release, errf(http.StatusBadRequest, "bad_multipart", "send exactly one part, named task, holding the archive")
		}
		if taskDir, release, err = s.extractedTask(r.Context(), part, dir, filepath.Join(dir, "task")); err != nil {
			return "", release, err
		}
	}
	if taskDir == "" {
		return "", release, errf(http.StatusBadRequest, "bad_multipart", "no task part: send the archive in a part named task")
	}
	return taskDir, release, nil
}
