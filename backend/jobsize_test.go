package backend

import (
	"testing"
	"unsafe"
)

// A deadline's queue holds a million jobs: a field added carelessly to job
// (a time.Time, a bool between two words) costs tens of megabytes. 240
// bytes is its allocation size class; the next is 256.
func TestJobStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(job{}); n > 240 {
		t.Fatalf("job is %d bytes, more than 240: pack the new fields (see state.go)", n)
	}
}
