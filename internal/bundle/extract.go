package bundle

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"unicode/utf8"
)

// Extract unpacks a .tar.gz (a Bundle's Open, or an archive from anyone)
// into dir, creating dir if needed. It writes regular files and directories
// only, never outside dir, within limits, and never over an existing file.
// The error wraps ErrUnsafeEntry for an absolute or escaping path, a link, a
// special file or a duplicate; ErrTooLarge when the archive is over limits.
//
// On error dir holds part of the archive: extract into a new directory and
// remove it on failure.
func Extract(r io.Reader, dir string, limits PackLimits) error {
	limits = limits.withDefaults()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("extract: not a gzip stream: %w", err)
	}
	defer zr.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	// Root refuses, at every open, a path that leaves dir, including through
	// a symbolic link that was in dir before we came.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer root.Close()

	x := extractor{root: root, files: limits.MaxFiles, bytes: limits.MaxBytes, limits: limits, dirs: map[string]bool{}}
	tr := tar.NewReader(NewInflateBound(context.Background(), limits.MaxInflated()).Reader(zr))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("extract: %w", inflated(err))
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, inflated(err))
		}
	}
}

// inflated adds ErrTooLarge to a read past the decompression's bound.
func inflated(err error) error {
	if errors.Is(err, ErrInflated) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}

type extractor struct {
	root   *os.Root
	files  int   // entries left, the folders they imply included
	bytes  int64 // file bytes left
	limits PackLimits
	dirs   map[string]bool // the folders counted
}

// Bounds of a path in an archive. A task's paths are short and shallow;
// without a bound, one entry named a/a/a/... a few KB long made tens of
// thousands of folders (which os.RemoveAll could then not remove: it
// holds a descriptor per level), and packing them back cost gigabytes.
const (
	maxPathBytes = 1024
	maxPathDepth = 32
)

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	name, err := entryName(hdr)
	if err != nil {
		return err
	}
	if len(name) > maxPathBytes || strings.Count(name, "/") >= maxPathDepth {
		return fmt.Errorf("%w: paths are limited to %d bytes and %d levels", ErrTooLarge, maxPathBytes, maxPathDepth)
	}
	// Every folder counts once, whether an entry of its own or only on
	// the way to one.
	for p := name; p != "."; p = path.Dir(p) {
		if x.dirs[p] {
			break
		}
		if p != name || hdr.Typeflag == tar.TypeDir {
			x.dirs[p] = true
		}
		if x.files--; x.files < 0 {
			return tooManyFiles("the archive", x.limits.MaxFiles)
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(name)
	case tar.TypeReg:
		return x.file(name, hdr, r)
	case tar.TypeSymlink, tar.TypeLink:
		return fmt.Errorf("%w: links are not allowed (to %q)", ErrUnsafeEntry, hdr.Linkname)
	default:
		return fmt.Errorf("%w: entry type %q is not a regular file or a directory", ErrUnsafeEntry, hdr.Typeflag)
	}
}

// entryName accepts only the names Pack writes: relative, slash-separated,
// no "." or ".." element, no empty element, valid UTF-8; a directory may end
// with one '/'.
func entryName(hdr *tar.Header) (string, error) {
	name := hdr.Name
	if hdr.Typeflag == tar.TypeDir {
		name = strings.TrimSuffix(name, "/")
	}
	if !utf8.ValidString(name) || !fs.ValidPath(name) || name == "." || strings.ContainsAny(name, "\\\x00") {
		return "", fmt.Errorf("%w: the path must be relative, inside the archive, without '.', '..' or '\\'", ErrUnsafeEntry)
	}
	return name, nil
}

func (x *extractor) mkdir(name string) error {
	if err := x.root.MkdirAll(name, 0o755); err != nil {
		return err
	}
	// MkdirAll leaves an existing directory as it was, and the umask may
	// have narrowed a new one.
	return x.root.Chmod(name, 0o755)
}

func (x *extractor) file(name string, hdr *tar.Header, r io.Reader) error {
	if hdr.Size < 0 || hdr.Size > x.bytes {
		return tooManyBytes("the archive", x.limits.MaxBytes)
	}
	x.bytes -= hdr.Size
	if dir := path.Dir(name); dir != "." {
		if err := x.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	mode := fs.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	// O_EXCL: a second entry of the same name would otherwise replace the
	// first after whoever listed the archive has checked it.
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: the archive holds this path twice", ErrUnsafeEntry)
	}
	if err != nil {
		return err
	}
	// The tar reader stops at hdr.Size: the copy cannot run past the budget.
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil { // the umask may have narrowed it
		f.Close()
		return err
	}
	return f.Close()
}
