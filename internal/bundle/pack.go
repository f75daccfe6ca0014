package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// entry is one file or directory found by Pack, before it is read.
type entry struct {
	name string // slash-separated, in the bundle
	path string // slash-separated, in root
	root *os.Root
	dir  bool
	exec bool
	size int64
	// stamp says which version of the file the entry is (stamp.go):
	// StampCourse's, for a packer to know it has packed it already.
	stamp fileStamp
}

// CommonDir is the top-level folder of a bundle that holds the course's
// common files (INGInious' $common), which runtimes show at /course/common
// rather than in /task.
const CommonDir = "$common"

// Pack packs the task folder dir. dir itself may be reached through a
// symbolic link; one inside it is packed as a copy of its target if that
// is a regular file of the folder, and refused otherwise. The error wraps
// ErrUnsupportedFile for a link or a special file, and ErrTooLarge when the
// folder is over limits or the archive over MaxArchiveSize.
func Pack(dir string, limits PackLimits) (*Bundle, error) {
	return PackCourse(dir, "", limits)
}

// PackCourse is Pack with, when common is not "", the course's common
// folder under CommonDir (a task folder with its own CommonDir is
// refused then). The limits bound both folders together.
func PackCourse(dir, common string, limits PackLimits) (*Bundle, error) {
	entries, closeRoots, err := scanCourse(dir, common, limits)
	if err != nil {
		return nil, err
	}
	defer closeRoots()
	data, err := write(entries)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	if len(data) > MaxArchiveSize {
		return nil, fmt.Errorf("pack %s: %w: the archive is %d bytes, over the limit of %d", dir, ErrTooLarge, len(data), MaxArchiveSize)
	}
	return &Bundle{digest: digestOf(data), data: data}, nil
}

// scanCourse lists the task folder dir and the common folder (when not
// "") as PackCourse packs them, and checks them (scan). closeRoots closes
// the folders the entries read from.
func scanCourse(dir, common string, limits PackLimits) (entries []entry, closeRoots func(), err error) {
	limits = limits.withDefaults()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	roots := []*os.Root{root}
	closeAll := func() {
		for _, r := range roots {
			r.Close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	if entries, err = scan(root, "", limits); err != nil {
		return nil, nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	if common == "" {
		return entries, closeAll, nil
	}
	for _, e := range entries {
		if e.name == CommonDir {
			return nil, nil, fmt.Errorf("pack %s: %w: the task folder has its own %s", dir, ErrUnsupportedFile, CommonDir)
		}
	}
	croot, err := os.OpenRoot(common)
	if err != nil {
		return nil, nil, fmt.Errorf("pack %s: %w", common, err)
	}
	roots = append(roots, croot)
	more, err := scan(croot, CommonDir+"/", limits)
	if err != nil {
		return nil, nil, fmt.Errorf("pack %s: %w", common, err)
	}
	entries = append(entries, entry{name: CommonDir, dir: true})
	entries = append(entries, more...)
	if len(entries) > limits.MaxFiles {
		return nil, nil, fmt.Errorf("pack %s: %w", dir, tooManyFiles("the task and common folders", limits.MaxFiles))
	}
	var total int64
	for _, e := range entries {
		total += e.size
	}
	if total > limits.MaxBytes {
		return nil, nil, fmt.Errorf("pack %s: %w", dir, tooManyBytes("the task and common folders", limits.MaxBytes))
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries, closeAll, nil
}

// scan lists the folder and checks everything that can be checked before
// reading a byte: kinds of file, names and limits.
func scan(root *os.Root, prefix string, limits PackLimits) ([]entry, error) {
	var (
		out   []entry
		total int64
	)
	var walk func(dir string) error
	walk = func(dir string) error {
		f, err := root.Open(dir)
		if err != nil {
			return err
		}
		children, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			return err
		}
		for _, c := range children {
			name := c.Name()
			if dir != "." {
				name = dir + "/" + name
			}
			if !utf8.ValidString(name) {
				return fmt.Errorf("%w: %q: file names must be valid UTF-8", ErrUnsupportedFile, name)
			}
			info, err := c.Info() // lstat: links are seen as links
			if err != nil {
				return err
			}
			e := entry{name: prefix + name, path: name, root: root}
			switch mode := info.Mode(); {
			case mode.IsDir():
				e.dir = true
			case mode.IsRegular():
				e.exec = mode&0o111 != 0
				e.size = info.Size()
				e.stamp = stampOf(info)
				total += e.size
			case mode&fs.ModeSymlink != 0:
				// A link to a regular file of the folder is packed as a
				// copy of it (INGInious courses ship a library's .so.0
				// name so); os.Root refuses one that leads out.
				target, err := root.Stat(name)
				if err != nil || !target.Mode().IsRegular() {
					return fmt.Errorf("%w: %s is a symbolic link to something other than a regular file of the task folder; copy the file in instead", ErrUnsupportedFile, name)
				}
				e.exec = target.Mode()&0o111 != 0
				e.size = target.Size()
				e.stamp = stampOf(target)
				total += e.size
			default:
				return fmt.Errorf("%w: %s is a %s, not a regular file or a directory", ErrUnsupportedFile, name, kind(mode))
			}
			out = append(out, e)
			// Checked as we go, so that a huge tree is refused early.
			if len(out) > limits.MaxFiles {
				return tooManyFiles("the task folder", limits.MaxFiles)
			}
			if total > limits.MaxBytes {
				return tooManyBytes("the task folder", limits.MaxBytes)
			}
			if e.dir {
				if err := walk(name); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk("."); err != nil {
		return nil, err
	}
	// A parent's name is a prefix of its children's, so it sorts first, as
	// extraction needs.
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "special file (" + m.Type().String() + ")"
}

// epoch is the time of every entry: the Unix epoch, not Go's zero time,
// which a ustar header cannot hold.
var epoch = time.Unix(0, 0)

func write(entries []entry) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf) // no name, no time: the header is constant
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, ModTime: epoch, Mode: 0o644, Typeflag: tar.TypeReg, Size: e.size}
		if e.exec {
			hdr.Mode = 0o755
		}
		if e.dir {
			hdr.Name += "/"
			hdr.Mode = 0o755
			hdr.Typeflag = tar.TypeDir
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if !e.dir {
			if err := copyFile(tw, e); err != nil {
				return nil, fmt.Errorf("%s: %w", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// errChanged: a file changed between scan and copy. Packing again is the fix.
var errChanged = errors.New("the file changed while it was being packed")

// copyFile copies exactly the size scan saw, and checks that the file is
// still a regular file of that size: a file swapped for a link, grown or
// shrunk mid-pack would make a bundle that is not the folder.
func copyFile(w io.Writer, e entry) error {
	f, err := e.root.Open(e.path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() || info.Size() != e.size {
		return errChanged
	}
	if _, err := io.CopyN(w, f, e.size); err != nil {
		if errors.Is(err, io.EOF) {
			return errChanged
		}
		return err
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return errChanged
	}
	return nil
}
