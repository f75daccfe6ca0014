package helper

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Bounds of the stdin tar (see "Stdin mode" in the package documentation).
const (
	// MaxStdinInputBytes bounds .ingo/input.json in the stdin tar.
	MaxStdinInputBytes = 256 << 20
	// DefaultStdinTaskBytes bounds the files under task/ and archive/ of
	// the stdin tar when input.json gives no limits.disk.
	DefaultStdinTaskBytes = 1 << 30
)

var errNoStream = errors.New("no tar on stdin")

// stdinStream reports whether the helper should read its files from stdin:
// input.json is absent and stdin is neither a terminal nor a character
// device (/dev/null when the container was started without stdin).
func stdinStream(e *cmdEnv) bool {
	if e.stdin == nil {
		return false
	}
	if _, err := os.Lstat(e.paths.Input); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if f, ok := e.stdin.(*os.File); ok {
		st, err := f.Stat()
		if err != nil || st.Mode()&os.ModeCharDevice != 0 {
			return false
		}
	}
	return true
}

// extractStdin unpacks the tar the runtime writes to the helper's stdin
// (read through tr) under the container's root (p.Root, "/" in a
// container). It accepts only directories and regular files under task/,
// archive/ and the single file .ingo/input.json; it refuses absolute names,
// "..", links and devices, files over their bound, and anything else. It
// returns errNoStream when the stream holds no entry at all. A refused tar
// is left where the refusal stopped: drainTar reads the rest.
func extractStdin(p Paths, tr *tar.Reader) error {
	return extractTar(p, tr, stdinName)
}

// extractCommonStudent unpacks the tar of a student container's stdin
// (channel.StudentSpec.Common): the course's common student files, under
// course/common/student/ only, with their modes, as the grading
// container's common files are.
func extractCommonStudent(p Paths, tr *tar.Reader) error {
	return extractTar(p, tr, commonStudentName)
}

// commonStudentName checks a name of a student container's tar.
func commonStudentName(hdr *tar.Header) (string, error) {
	clean, err := stdinName(hdr)
	if err != nil {
		return "", err
	}
	if clean == "course" || clean == "course/common" || clean == "course/common/student" ||
		strings.HasPrefix(clean, "course/common/student/") {
		return clean, nil
	}
	return "", fmt.Errorf("entry %q refused: outside course/common/student/", hdr.Name)
}

// extractTar is extractStdin with the names name accepts.
func extractTar(p Paths, tr *tar.Reader, entryName func(*tar.Header) (string, error)) error {
	rootDir := p.Root
	if rootDir == "" {
		rootDir = "/"
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return err
	}
	defer root.Close()
	budget := int64(DefaultStdinTaskBytes)
	entries := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			if entries == 0 {
				return errNoStream
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the tar: %w", err)
		}
		entries++
		name, err := entryName(hdr)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			continue
		case tar.TypeReg:
		default:
			return fmt.Errorf("%s: entry type %q refused (directories and regular files only)", hdr.Name, hdr.Typeflag)
		}
		if hdr.Size < 0 {
			return fmt.Errorf("%s: bad size", hdr.Name)
		}
		isInput := name == strings.TrimPrefix(InputFile, "/")
		if isInput {
			if hdr.Size > MaxStdinInputBytes {
				return fmt.Errorf("%s: %d bytes, over the bound of %d", name, hdr.Size, MaxStdinInputBytes)
			}
		} else {
			if hdr.Size > budget {
				return fmt.Errorf("%s: the files are over the disk bound", name)
			}
			budget -= hdr.Size
		}
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		mode := os.FileMode(0o644)
		if hdr.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n, err := io.Copy(f, io.LimitReader(tr, hdr.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != hdr.Size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := root.Chmod(name, mode); err != nil { // whatever the umask
			return fmt.Errorf("%s: %w", name, err)
		}
		if isInput {
			// The task's bound is limits.disk, known from here on (the
			// runtime sends input.json first).
			if in, err := loadInput(p.Input); err == nil && in.Limits.Disk > 0 {
				budget = min(budget, in.Limits.Disk<<20)
			}
		}
	}
}

// stdinName checks an entry's name and returns it relative to the root.
func stdinName(hdr *tar.Header) (string, error) {
	n := hdr.Name
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "\\") || strings.ContainsRune(n, 0) {
		return "", fmt.Errorf("entry %q refused: not a relative name", n)
	}
	for _, part := range strings.Split(strings.TrimSuffix(n, "/"), "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q refused: \"..\"", n)
		}
	}
	clean := path.Clean(n)
	top, _, _ := strings.Cut(clean, "/")
	switch {
	case top == "task" || top == "archive":
		return clean, nil
	case clean == "course" || clean == "course/common" || strings.HasPrefix(clean, "course/common/"):
		return clean, nil
	case clean == ".ingo" && hdr.Typeflag == tar.TypeDir:
		return clean, nil
	case clean == strings.TrimPrefix(InputFile, "/") && hdr.Typeflag == tar.TypeReg:
		return clean, nil
	}
	return "", fmt.Errorf("entry %q refused: outside task/, course/common/, archive/ and .ingo/input.json", n)
}

// maxDrainEntries bounds the entries drainTar reads: the runtime's tar
// has the task's files, far fewer; a stream of endless entries ends the
// helper instead of keeping it reading.
const maxDrainEntries = 1 << 20

// drainTar reads a refused tar to its end-of-archive marker, discarding
// the contents, so that the channel, which follows the tar on stdin, can
// start and carry the crash result. It fails when the tar is broken, cut
// short, or has more than maxDrainEntries entries.
func drainTar(tr *tar.Reader) error {
	for range maxDrainEntries {
		// Next skips what is left of the current entry's contents.
		if _, err := tr.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
	return fmt.Errorf("more than %d entries", maxDrainEntries)
}
