package docker

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"path"
	"strings"

	"github.com/ingo-grader/ingo/containers"
)

// What student containers get of the course's common files: INGInious
// mounts the course's $common/student, read-only, at /course/common/student
// in every student container (tasks keep there what the student's code
// reads: translation catalogs, a library it links, test data). The grading
// container has all of $common at /course/common (taskfiles.go). A student
// container has no stdin tar of its own, so the agent writes one, those
// files only, on its stdin before anything else
// (channel.StudentSpec.Common); its helper unpacks it to a tmpfs at /course
// and takes the write bits off, as the grading container's does.

// commonStudentDir is the bundle's folder of those files.
const commonStudentDir = commonDir + "/student"

// studentCommonRoom is the room the job's $common/student takes on a
// tmpfs (whole pages, plus slack); 0 when the task has none or its bundle
// cannot be read (the student containers then go without). Read from the
// bundle once per job.
func (c *jobChannel) studentCommonRoom() int64 {
	c.commonOnce.Do(func() {
		if c.job.Task == nil {
			return
		}
		room, err := writeStudentCommon(tar.NewWriter(io.Discard), c.job.Task)
		if err != nil {
			c.r.log.Warn("the course's common student files cannot be read; student containers go without",
				"job", c.job.ID(), "err", err)
			return
		}
		c.commonRoom = room
	})
	return c.commonRoom
}

// writeStudentCommon writes to tw the directories and regular files of
// b's $common/student, named course/common/student/..., and closes it. It
// returns the room they take on a tmpfs (0 when there are none).
func writeStudentCommon(tw *tar.Writer, b containers.TaskBundle) (room int64, err error) {
	rc, err := b.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return 0, err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		name := path.Clean("/" + strings.TrimPrefix(hdr.Name, "./"))
		rest, ok := strings.CutPrefix(name, "/"+commonStudentDir)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		h := &tar.Header{Name: "course/common/student" + rest, Uid: workerID, Gid: workerID, ModTime: hdr.ModTime, Format: tar.FormatPAX}
		switch hdr.Typeflag {
		case tar.TypeDir:
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
		case tar.TypeReg:
			h.Typeflag, h.Size, h.Mode = tar.TypeReg, hdr.Size, 0o644
			if hdr.Mode&0o111 != 0 {
				h.Mode = 0o755
			}
			room += (hdr.Size + pageBytes - 1) / pageBytes * pageBytes
		default:
			continue // bundles hold directories and regular files only
		}
		room += pageBytes // its inode and entry
		if err := tw.WriteHeader(h); err != nil {
			return 0, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.CopyN(tw, tr, hdr.Size); err != nil {
				return 0, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	if room > 0 {
		room += commonSlackBytes
	}
	return room, nil
}
