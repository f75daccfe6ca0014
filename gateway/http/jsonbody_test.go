package api

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// TestDecodeJSON_ReadsTheBodyOnce: a job's JSON body is counted as the
// decoder reads it, not read whole into a buffer first and copied into
// the decoder's: io.ReadAll's copies as it grew cost five times a large
// body, and twelve uploads at once went over what the API reserves for
// them (TestConcurrentUploadsMemory, run with the package's other tests).
func TestDecodeJSON_ReadsTheBodyOnce(t *testing.T) {
	const size = 16 << 20
	body := []byte(`{"inputs": {"@f": "` + strings.Repeat("A", size) + `"}}`)
	var req jobRequest
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := decodeJSON(bytes.NewReader(body), &req, nil)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	// The decoder's buffers, doubling as it reads (4 times the body all
	// told), and the value decoded (1): 80 MiB; read whole first, 114.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 6*size {
		t.Errorf("decoding a body of %d MiB allocated %d MiB", size>>20, alloc>>20)
	}
}
