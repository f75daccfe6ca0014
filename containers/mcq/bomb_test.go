package mcq

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/bundle"
)

// zeros reads n zero bytes.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.n)]
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// TestBundleCatalogBoundsTheScan: finding a job's catalog reads a task
// bundle no further than a task folder may hold (bundle.DefaultMaxBytes
// of files). A frontend's bundle of 0.3 MB holding a file of 256 MiB of
// zeros was decompressed whole by every quiz naming a language, up to
// 64 at once on an agent beside its slots (a bundle of 128 MiB, the
// largest an agent reads, would be about 128 GiB, minutes of CPU each
// that no kill stops).
func TestBundleCatalogBoundsTheScan(t *testing.T) {
	t.Parallel()
	if maxScanBytes != bundle.DefaultMaxBytes || maxScanEntries != bundle.DefaultMaxFiles {
		t.Errorf("the scan's bounds (%d bytes, %d entries) are not a task folder's", maxScanBytes, maxScanEntries)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	const size = 4 * bundle.DefaultMaxBytes
	if err := tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(tw, &zeros{size}); err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: "$i18n/fr.mo", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte("abc"))
	_ = tw.Close()
	_ = zw.Close()
	_, err := bundleCatalog(bytes.NewReader(buf.Bytes()), "fr")
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("a bundle of %d bytes holding %d: %v", buf.Len(), size, err)
	}
}
