package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestOversizeInputs: inputs over a bound are refused before anything is
// submitted, with 400 or 413 naming the bound, never by the backend's
// silence (a 504 after the request timeout).
func TestOversizeInputs(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	limit := e.srv.jobLimit()
	jsonBody := func(v any) func() (string, []byte) {
		return func() (string, []byte) {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			return "application/json", b
		}
	}
	deep := any("x")
	for range 40 {
		deep = []any{deep}
	}
	for _, tc := range []struct {
		name   string
		body   func() (string, []byte)
		status int
		words  []string
	}{
		{"a file part over one message", func() (string, []byte) {
			return multipartBody(t, [3]string{"job", "", `{}`}, [3]string{"file:code", "a.bin", strings.Repeat("x", int(limit)+1)})
		}, 413, []string{"file parts together", formatBytes(limit)}},
		{"file parts adding up to more", func() (string, []byte) {
			half := strings.Repeat("x", int(limit/2)+1)
			return multipartBody(t, [3]string{"job", "", `{}`}, [3]string{"file:a", "a", half}, [3]string{"file:b", "b", half})
		}, 413, []string{"file parts together", formatBytes(limit)}},
		{"a JSON body over its limit", jsonBody(map[string]any{"inputs": map[string]any{"q": strings.Repeat("x", int(e.srv.jsonLimit()))}}),
			413, []string{"JSON body", formatBytes(e.srv.jsonLimit())}},
		{"a job over one message", jsonBody(map[string]any{"inputs": map[string]any{"f": map[string]any{"filename": "f",
			"content": make([]byte, limit)}}}), 413, []string{"the job", formatBytes(limit)}},
		{"a list over the decoder's bound", jsonBody(map[string]any{"inputs": map[string]any{"q": make([]string, 1<<17+1)}}),
			400, []string{"invalid_job", "131072"}},
		{"nesting over the decoder's bound", jsonBody(map[string]any{"inputs": map[string]any{"@deep": deep}}),
			400, []string{"invalid_job", "32"}},
		{"too many file parts", func() (string, []byte) {
			parts := [][3]string{{"job", "", `{}`}}
			for i := range maxFileParts + 1 {
				parts = append(parts, [3]string{fmt.Sprintf("file:q%d", i), "f", "x"})
			}
			return multipartBody(t, parts...)
		}, 400, []string{fmt.Sprint(maxFileParts)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, b := tc.body()
			status, data := e.call("POST", "/api/v1/jobs", ct, bytes.NewReader(b))
			if status != tc.status {
				t.Fatalf("%d %.300s, want %d", status, data, tc.status)
			}
			for _, w := range tc.words {
				if !strings.Contains(string(data), w) {
					t.Errorf("%.300s does not say %q", data, w)
				}
			}
		})
	}
	if st := e.srv.Stats(); st.JobsSubmitted != 0 {
		t.Errorf("%d jobs were submitted", st.JobsSubmitted)
	}
}

// uploadMemoryBound is what twelve concurrent 60 MB uploads may add to the
// heap: DefaultUploadMemory (upload.go), garbage the collector has not
// freed yet included (GOGC 20 in the test). Unbounded, six of them added
// 1 GB; twelve read against their limits but all at once (no
// UploadMemory), 84 to 89 MiB; as they are, 32 to 35 MiB.
const uploadMemoryBound = DefaultUploadMemory

// TestConcurrentUploadsMemory sends twelve 60 MB bodies at once (six file
// parts, six JSON bodies with a base64 file), each refused with 413, and
// measures the heap in between: bytes, not time.
func TestConcurrentUploadsMemory(t *testing.T) {
	// One token: its uploads are read one at a time, and each must be,
	// not told to come back (503 busy) after the default 10 s, which
	// twelve under -race on a loaded machine took (CI).
	e := newEnv(t, Options{UploadWait: 5 * time.Minute})
	e.waitReady()
	const size = 60 << 20
	type upload struct {
		contentType string
		write       func(w io.Writer)
	}
	var uploads []upload
	for range 6 {
		uploads = append(uploads,
			upload{"multipart/form-data; boundary=" + testBoundary, func(w io.Writer) { writeFilePart(w, size) }},
			upload{"application/json", func(w io.Writer) {
				io.WriteString(w, `{"inputs": {"f": {"filename": "big", "content": "`)
				io.Copy(w, io.LimitReader(repeat('A'), size))
				io.WriteString(w, `"}}}`)
			}})
	}

	// HeapGrowth's low GOGC: what earlier tests of the package left live
	// (60 to 80 MiB here) moved the measure by 20 MiB at the default.
	base, peak := testutil.HeapGrowth(func() {
		var wg sync.WaitGroup
		for i, u := range uploads {
			wg.Go(func() {
				pr, pw := io.Pipe()
				go func() { u.write(pw); pw.Close() }()
				req, _ := http.NewRequest("POST", e.url+"/api/v1/jobs", pr)
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", u.contentType)
				resp, err := http.DefaultClient.Do(req)
				pr.CloseWithError(io.ErrClosedPipe) // the server may hang up before the end: unblock the writer
				if err != nil {
					t.Errorf("upload %d: %v", i, err)
					return
				}
				defer resp.Body.Close()
				data, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 413 || !strings.Contains(string(data), "too_large") {
					t.Errorf("upload %d: %d %.300s, want 413 too_large", i, resp.StatusCode, data)
				}
			})
		}
		wg.Wait()
	})
	grew := int64(peak) - int64(base)
	t.Logf("heap: %d MiB before, peak %d MiB (+%d MiB) during twelve 60 MB uploads", base>>20, peak>>20, grew>>20)
	if grew > uploadMemoryBound {
		t.Errorf("the heap grew by %d MiB, over the bound of %d MiB", grew>>20, uploadMemoryBound>>20)
	}
}

const testBoundary = "ingo-test-boundary"

// writeFilePart writes a multipart body with a job part and a file part
// of n bytes.
func writeFilePart(w io.Writer, n int64) {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(testBoundary); err != nil {
		panic(err)
	}
	if f, err := mw.CreateFormField("job"); err == nil {
		io.WriteString(f, `{}`)
	}
	if f, err := mw.CreateFormFile("file:code", "big.bin"); err == nil {
		io.Copy(f, io.LimitReader(repeat('x'), n))
	}
	mw.Close()
}

// repeat is an endless reader of one byte, allocating nothing per read.
type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
