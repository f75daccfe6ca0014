package helper

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// errTooBig stops packing when the archive passes the output limit.
var errTooBig = errors.New("archive over the output limit")

// cappedBuffer is a bytes.Buffer that refuses to grow past max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int64
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if int64(c.Len()+len(p)) > c.max {
		return 0, errTooBig
	}
	return c.Buffer.Write(p)
}

// packArchive returns the content of dir as a gzipped tar (entry names
// relative to dir, directories, regular files and symbolic links; other
// kinds skipped), or nil when dir is missing or empty. over is true when
// the archive would pass max bytes: it is then dropped, not cut. Files that
// cannot be read are left out and reported in skipped.
func packArchive(dir string, max int64) (tgz []byte, over bool, skipped []error, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil, false, nil, nil
	}
	if err != nil {
		return nil, false, nil, fmt.Errorf("reading the archive folder: %w", err)
	}
	buf := &cappedBuffer{max: max}
	gz := gzip.NewWriter(buf)
	tw := tar.NewWriter(gz)
	walkErr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			skipped = append(skipped, err)
			return nil
		}
		if path == dir {
			return nil
		}
		if err := addToTar(tw, dir, path); err != nil {
			if errors.Is(err, errTooBig) {
				return err
			}
			skipped = append(skipped, err)
		}
		return nil
	})
	if walkErr == nil {
		walkErr = tw.Close()
	}
	if walkErr == nil {
		walkErr = gz.Close()
	}
	if errors.Is(walkErr, errTooBig) {
		return nil, true, skipped, nil
	}
	if walkErr != nil {
		return nil, false, skipped, fmt.Errorf("packing the archive: %w", walkErr)
	}
	return buf.Bytes(), false, skipped, nil
}

func addToTar(tw *tar.Writer, root, path string) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	link := ""
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	case info.IsDir(), info.Mode().IsRegular():
	default:
		return nil // fifos, sockets, devices: nothing to keep
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return err
	}
	hdr.Name = filepath.ToSlash(rel)
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	if !info.Mode().IsRegular() {
		return tw.WriteHeader(hdr)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	// The header promised hdr.Size bytes: a file that grew meanwhile is cut,
	// one that shrank is padded with zeros, so the tar stays readable.
	n, err := io.CopyN(tw, f, hdr.Size)
	if errors.Is(err, io.EOF) {
		_, err = io.CopyN(tw, zeros{}, hdr.Size-n)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func init() {
	register(&command{
		name: "archive", usage: "[-o SUBDIR] [-a FILE] [-r FILE]",
		desc: "copy a file into /archive (returned as the job's archive), or remove one",
		opts: []option{
			{short: 'a', long: "add", value: true, metavar: "FILE", help: "copy FILE into the archive"},
			{short: 'r', long: "remove", value: true, metavar: "FILE", help: "remove FILE from the archive"},
			{short: 'o', long: "outsubdir", value: true, metavar: "SUBDIR", help: "sub-directory of the archive"},
			{short: 's', long: "subdir", value: true, metavar: "SUBDIR", help: "same as -o (newer INGInious name)"},
		},
		run: func(e *cmdEnv, a *parsed) error {
			sub := a.str("subdir")
			if sub == "" {
				sub = a.str("outsubdir")
			}
			dir := filepath.Join(e.paths.Archive, sub)
			if add := a.str("add"); add != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return exitWith(exitUsage, fmt.Errorf("creating %s: %w", dir, err))
				}
				if err := copyFile(e.paths, add, filepath.Join(dir, filepath.Base(add))); err != nil {
					return exitWith(exitUsage, err)
				}
			}
			if rm := a.str("remove"); rm != "" {
				if err := os.Remove(filepath.Join(dir, rm)); err != nil {
					return exitWith(exitUsage, err)
				}
			}
			return nil
		},
	})
}

// copyFile copies a regular file's content and permission bits, as
// Python's shutil.copy, but for links out of the student's directory
// (studentfiles.go).
func copyFile(p Paths, src, dst string) error {
	in, err := p.openFile(src, os.O_RDONLY, 0, false)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (copy directories with cp -r into /archive)", src)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}
