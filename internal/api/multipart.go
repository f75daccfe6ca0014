package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// maxJobPart bounds the "job" part: JSON answers belong in it, files in
// file parts.
const maxJobPart = 8 << 20

func newJobID() string { return uuid.NewString() }

// parseMultipart reads the parts of POST /api/v1/jobs: "job" (the JSON),
// "task" (the task folder as an archive), "file:<pid>" (file answers).
// Parts are streamed: only the archive touches the disk.
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
			if err := decodeJSON(io.LimitReader(part, maxJobPart), &sub.req); err != nil {
				return sub, cleanup, err
			}
		case name == "task":
			if sub.taskDir != "" {
				return sub, cleanup, errf(http.StatusBadRequest, "bad_multipart", "the body holds two task parts")
			}
			if sub.taskDir, err = extractedTask(part, dir, filepath.Join(dir, "task")); err != nil {
				return sub, cleanup, err
			}
		case strings.HasPrefix(name, "file:") && len(name) > len("file:"):
			pid := strings.TrimPrefix(name, "file:")
			if _, dup := sub.files[pid]; dup {
				return sub, cleanup, errf(http.StatusBadRequest, "bad_input", fmt.Sprintf("two files for problem %q", pid))
			}
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, part); err != nil {
				return sub, cleanup, multipartError(err)
			}
			fn := part.FileName()
			if fn == "" {
				fn = pid
			}
			sub.files[pid] = map[string]any{"filename": fn, "value": buf.Bytes()}
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

// multipartError keeps a body over MaxBody a 413.
func multipartError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
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

// extractedTask unpacks and returns the task folder inside dest.
func extractedTask(r io.Reader, tmp, dest string) (string, error) {
	if err := saveAndExtract(r, tmp, dest); err != nil {
		return "", err
	}
	return taskRoot(dest), nil
}

// postTask stores a task folder (a "task" part, or the archive as the
// whole body) and answers its digest, for task_bundle in later jobs.
func (s *Server) postTask(w http.ResponseWriter, r *http.Request) {
	dir, cleanup, err := tempDir()
	defer cleanup()
	if err != nil {
		fail(w, err)
		return
	}
	var taskDir string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		taskDir, err = s.taskFromMultipart(r, dir)
	} else {
		taskDir, err = extractedTask(r.Body, dir, filepath.Join(dir, "task"))
	}
	if err != nil {
		fail(w, err)
		return
	}
	digest, err := s.client.UploadTask(r.Context(), taskDir)
	if err != nil {
		fail(w, errf(http.StatusBadGateway, "upload_failed", "the task could not be stored in NATS: "+err.Error()))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"task_bundle": digest})
}

func (s *Server) taskFromMultipart(r *http.Request, dir string) (string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", errf(http.StatusBadRequest, "bad_multipart", "the multipart body cannot be read: "+err.Error())
	}
	taskDir := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", multipartError(err)
		}
		if part.FormName() != "task" || taskDir != "" {
			return "", errf(http.StatusBadRequest, "bad_multipart", "send exactly one part, named task, holding the archive")
		}
		if taskDir, err = extractedTask(part, dir, filepath.Join(dir, "task")); err != nil {
			return "", err
		}
	}
	if taskDir == "" {
		return "", errf(http.StatusBadRequest, "bad_multipart", "no task part: send the archive in a part named task")
	}
	return taskDir, nil
}
