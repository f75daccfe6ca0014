package api

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/internal/bundle"
)

// A task folder arrives as an archive. bundle.Extract holds every safety
// check (relative paths only, no "..", no links, no special files, no
// duplicates, bounded files and bytes), so plain tar and zip are turned
// into the tar.gz stream it reads rather than unpacked by other code.

// Archive formats, told apart by their first bytes (not by a file name a
// client may get wrong).
const (
	formatTarGz = "tar.gz"
	formatTar   = "tar"
	formatZip   = "zip"
)

// sniffArchive returns the format of the file, or "".
func sniffArchive(f *os.File) (string, error) {
	head := make([]byte, 512)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return formatTarGz, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return formatZip, nil
	case len(head) >= 263 && bytes.Equal(head[257:262], []byte("ustar")):
		return formatTar, nil
	}
	return "", nil
}

// extractTask unpacks the archive in f into dir (which must not exist or
// be empty). Errors are *httpError: the archive is the client's.
func extractTask(f *os.File, dir string) error {
	format, err := sniffArchive(f)
	if err != nil {
		return fmt.Errorf("read the task archive: %w", err)
	}
	bound, stop := newInflateBound()
	defer stop()
	var src func(w io.Writer) error
	switch format {
	case formatTarGz:
		src = func(w io.Writer) error {
			zr, err := gzip.NewReader(io.NewSectionReader(f, 0, 1<<62))
			if err != nil {
				return err
			}
			return tarToTarGz(w, bound.Reader(zr))
		}
	case formatTar:
		src = func(w io.Writer) error { return tarToTarGz(w, bound.Reader(io.NewSectionReader(f, 0, 1<<62))) }
	case formatZip:
		info, err := f.Stat()
		if err != nil {
			return err
		}
		src = func(w io.Writer) error { return zipToTarGz(w, f, info.Size(), bound) }
	default:
		return errf(http.StatusBadRequest, "not_an_archive",
			"the task is not a .tar.gz, .tgz, .tar or .zip archive; pack the task folder, e.g. `tar czf task.tgz -C TASKDIR .`")
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var srcErr error
	go func() {
		defer close(done)
		srcErr = src(pw)
		pw.CloseWithError(srcErr) // nil closes with EOF
	}()
	err = bundle.Extract(pr, dir, bundle.PackLimits{})
	pr.CloseWithError(errors.New("extraction stopped")) // ends the writer if Extract stopped early
	<-done
	if errors.Is(srcErr, bundle.ErrInflated) || errors.Is(srcErr, errUnpackTime) || errors.Is(srcErr, bundle.ErrTooLarge) {
		err = srcErr // the reason, whatever Extract made of the broken stream
	}
	return archiveError(err)
}

// What reading an archive may cost, whatever it holds: bundle.Extract
// bounds the files it writes, not what the conversion to its tar.gz reads
// on the way (bundle.InflateBound says what that can be).
var (
	// maxInflated bounds the bytes read out of an archive's compression,
	// headers and skipped data included: what Extract allows itself.
	maxInflated = bundle.PackLimits{}.MaxInflated()
	// unpackTime bounds the time an archive takes to be read. A real one
	// of 64 MiB takes a few seconds; this is the backstop of maxInflated
	// while the uploader's share of memory is held.
	unpackTime = 60 * time.Second
)

// errUnpackTime is the cause of an archive's unpackTime running out.
var errUnpackTime = errors.New("the archive takes too long to unpack")

// newInflateBound is the bound of one archive's reading: maxInflated
// bytes and unpackTime, whichever comes first; stop ends its context.
func newInflateBound() (b *bundle.InflateBound, stop func()) {
	ctx, cancel := context.WithTimeoutCause(context.Background(), unpackTime, errUnpackTime)
	return bundle.NewInflateBound(ctx, maxInflated), cancel
}

// archiveError explains why an archive was refused.
func archiveError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bundle.ErrUnsafeEntry):
		return errf(http.StatusBadRequest, "unsafe_archive",
			"the task archive was refused: "+err.Error()+"; it may hold only regular files and directories under relative paths")
	case errors.Is(err, bundle.ErrInflated):
		return errf(http.StatusBadRequest, "archive_too_large",
			fmt.Sprintf("the task archive was refused: it unpacks to more than %s, headers included (chains of PAX headers, the data of skipped entries and every gzip member count); a task folder holds at most %d files and %s",
				formatBytes(maxInflated), bundle.DefaultMaxFiles, formatBytes(bundle.DefaultMaxBytes)))
	case errors.Is(err, errUnpackTime):
		return errf(http.StatusBadRequest, "archive_too_large",
			fmt.Sprintf("the task archive was refused: it took more than %s to unpack, where a real task folder takes seconds; pack it again with `tar czf task.tgz -C TASKDIR .`", unpackTime))
	case errors.Is(err, bundle.ErrTooLarge):
		return errf(http.StatusBadRequest, "archive_too_large",
			fmt.Sprintf("the task archive was refused: %v (at most %d files and %s uncompressed)", err, bundle.DefaultMaxFiles, formatBytes(bundle.DefaultMaxBytes)))
	}
	return errf(http.StatusBadRequest, "bad_archive", "the task archive cannot be read: "+err.Error())
}

// tarToTarGz copies a tar stream entry by entry, dropping the "./" that
// `tar czf t.tgz -C DIR .` puts before every name (bundle.Extract accepts
// plain relative names only), and compresses it. Everything else is passed
// as it is, for Extract to judge.
func tarToTarGz(w io.Writer, r io.Reader) error {
	gw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tr := tar.NewReader(r)
	tw := tar.NewWriter(gw)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := hdr.Name
		for strings.HasPrefix(name, "./") {
			name = strings.TrimLeft(name[2:], "/")
		}
		if name == "" || name == "." {
			continue // the folder itself
		}
		hdr.Name = name
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gw.Close()
}

// taskRoot is dir, or its only entry when that is a directory: an archive
// of "hello/" (tar czf t.tgz hello) holds the task one level down.
func taskRoot(dir string) string {
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) == 1 && entries[0].IsDir() {
		return filepath.Join(dir, entries[0].Name())
	}
	return dir
}

// maxZipHeaders bounds the central directory records of a task's zip,
// counted before archive/zip reads them: zip.NewReader keeps every record
// it finds (some 200 bytes of heap each, whatever the count the archive
// announces), before Extract can count entries. Before, a 60 MiB upload
// that was all central directory (1.3 million records of 47 bytes) held
// about 255 MB of the API's heap, 8 times the share of upload memory it
// had reserved: two tokens' uploads in a loop took `ingo up` from 344 to
// 869 MB. A task folder holds bundle.DefaultMaxFiles entries; the margin
// is for the signatures of zips stored inside (jars).
const maxZipHeaders = 16 * bundle.DefaultMaxFiles

// zipCentralSig starts every central directory record: archive/zip reads
// records while they start with it, so it reads no more records than the
// file holds of it.
var zipCentralSig = []byte("PK\x01\x02")

// countZipHeaders counts zipCentralSig in r's size bytes, stopping once
// over limit.
func countZipHeaders(r io.ReaderAt, size int64, limit int) (int, error) {
	buf := make([]byte, 1<<20)
	n := 0
	for off := int64(0); off < size; {
		k, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		n += bytes.Count(buf[:k], zipCentralSig)
		if n > limit || off+int64(k) >= size {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		// The next read starts 3 bytes back: a signature across the
		// boundary is counted there, and none is counted twice (3 bytes
		// hold none).
		off += int64(max(k-len(zipCentralSig)+1, 1))
	}
	return n, nil
}

// zipToTarGz rewrites a zip archive as a tar.gz stream, entry by entry:
// names, types and sizes as the zip says, so that Extract judges them.
func zipToTarGz(w io.Writer, r io.ReaderAt, size int64, bound *bundle.InflateBound) error {
	if n, err := countZipHeaders(r, size, maxZipHeaders); err != nil {
		return err
	} else if n > maxZipHeaders {
		return fmt.Errorf("%w: the zip archive holds more than %d directory records (a task folder holds at most %d files; zips stored inside count too: pack the folder as .tar.gz)",
			bundle.ErrTooLarge, maxZipHeaders, bundle.DefaultMaxFiles)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // Extract refuses those names itself
		return fmt.Errorf("not a valid zip archive: %w", err)
	}
	gw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gw)
	for _, zf := range zr.File {
		if err := bound.Err(); err != nil {
			return err
		}
		if err := zipEntry(tw, zf, bound); err != nil {
			return fmt.Errorf("zip entry %q: %w", zf.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gw.Close()
}

func zipEntry(tw *tar.Writer, zf *zip.File, bound *bundle.InflateBound) error {
	mode := zf.Mode()
	hdr := &tar.Header{Name: zf.Name, Mode: int64(mode.Perm()), Format: tar.FormatPAX}
	switch {
	case mode.IsDir():
		hdr.Typeflag = tar.TypeDir
		return tw.WriteHeader(hdr)
	case mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, "(zip symlink)"
		return tw.WriteHeader(hdr)
	case !mode.IsRegular():
		hdr.Typeflag = tar.TypeChar // any special file: Extract refuses it
		return tw.WriteHeader(hdr)
	}
	if zf.UncompressedSize64 > 1<<62 {
		return bundle.ErrTooLarge
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, int64(zf.UncompressedSize64)
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	// zip's reader checks the size and the CRC: a lying header ends here.
	_, err = io.Copy(tw, bound.Reader(rc))
	return err
}
