package docker

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

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
// with the files' modes, as the grading container's does (taskfiles.go
// says why they are not read-only).

// commonStudentDir is the bundle's folder of those files.
const commonStudentDir = commonDir + "/student"

// commonWriteWait bounds the write of the files to a student container's
// stdin: its helper reads them first thing, so only a helper that does not
// (one older than Common, in an image built by hand, whose command then
// reads them as its stdin, or not at all) makes the write wait.
const commonWriteWait = 30 * time.Second

// giveStudentCommon writes the course's common student files on conn, a
// student container's stdin, within commonWriteWait and the job's life.
func (c *jobChannel) giveStudentCommon(conn net.Conn) error {
	_ = conn.SetWriteDeadline(time.Now().Add(commonWriteWait))
	stop := context.AfterFunc(c.ctx, func() { _ = conn.SetWriteDeadline(time.Now()) })
	defer stop()
	b := c.job.Task
	if c.studentCommonRoom() == 0 {
		// None to give (the course has none, or the job no task: a
		// run_cmd calling run_student): the gate's folder alone, without
		// reading the bundle through.
		b = nil
	}
	if _, err := writeStudentCommon(c.ctx, tar.NewWriter(conn), b); err != nil {
		return fmt.Errorf("writing them on its stdin: %w", err)
	}
	return conn.SetWriteDeadline(time.Time{})
}

// studentCommonRoom is the room the job's $common/student takes on a
// tmpfs (whole pages, plus slack); 0 when the task has none or its bundle
// cannot be read (the student containers then go without). Read from the
// bundle once per job.
func (c *jobChannel) studentCommonRoom() int64 {
	c.commonOnce.Do(func() {
		if c.job.Task == nil {
			return
		}
		room, err := writeStudentCommon(c.ctx, tar.NewWriter(io.Discard), c.job.Task)
		if err != nil {
			c.r.log.Warn("the course's common student files cannot be read; student containers go without",
				"job", c.job.ID(), "err", err)
			return
		}
		c.commonRoom = room
	})
	return c.commonRoom
}

// gateRoom is the /course of a student container whose course has no
// common student files but whose start must wait for the agent (on
// cgroup v1, for boundTCP): its helper waits for a tar on its stdin
// before it runs anything (Common), and unpacks that tar's one folder
// there.
const gateRoom = 64 << 10

// writeStudentCommon writes to tw the directories and regular files of
// b's $common/student, named course/common/student/..., and closes it;
// when there are none, the folder course/ alone, so that the tar has an
// entry (a helper takes a tar without any for no tar at all). It returns
// the room they take on a tmpfs (0 when there are none). A nil b (a job
// without a task) has none.
func writeStudentCommon(ctx context.Context, tw *tar.Writer, b containers.TaskBundle) (room int64, err error) {
	entries := 0
	if b != nil {
		err = eachBundleEntry(ctx, b, func(name string, hdr *tar.Header, r io.Reader) error {
			rest, ok := strings.CutPrefix(name, "/"+commonStudentDir)
			if !ok || (rest != "" && rest[0] != '/') {
				return nil
			}
			entries++
			room += tmpfsRoom(hdr)
			return copyEntry(tw, hdr, "course/common/student"+rest, commonMode(hdr), r)
		})
	}
	if err != nil {
		return 0, err
	}
	if entries == 0 {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "course/", Mode: 0o755, Uid: workerID, Gid: workerID}); err != nil {
			return 0, err
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
