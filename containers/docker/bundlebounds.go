package docker

import (
	"errors"
	"fmt"
	"strings"
)

// A job's task bundle is what its frontend stored: any bytes, not only
// what bundle.Pack makes. The agent reads it (to the container's stdin,
// and for each student container's common files) within the bounds of a
// folder Pack or PackCourse accepts (internal/bundle's limits, which
// TestBundleBoundsMatchPack holds these to), so that a small bundle
// cannot make it read, decompress or copy without end: a review's
// 316 KB bundle of folders with 1 MB names took an agent to 1.3 GB, a
// 1 MB one killed two agents in turn, and concatenated gzip members of
// chained tar headers held a slot for minutes of the agent's CPU after
// the job was killed.
const (
	// maxBundleEntries: Pack's 10,000 entries, and the $common folder.
	maxBundleEntries = 10_000 + 1
	// maxBundleFileBytes: PackCourse's 64 MiB of files, counted for the
	// task and its course's common folder together; twice that leaves
	// room for a packer whose limits differ.
	maxBundleFileBytes = 2 * 64 << 20
	// maxBundleName and maxBundleDepth: Pack's 1 KiB and 32 levels, below
	// "/$common".
	maxBundleName  = 1024 + len("/"+commonDir+"/")
	maxBundleDepth = 32 + 1
	// maxBundleTarBytes bounds the decompressed stream, headers included:
	// the files and, for each entry, headers of a few KiB.
	maxBundleTarBytes = maxBundleFileBytes + maxBundleEntries*(8<<10)
)

// errBundleBounds refuses a bundle over the bounds above.
var errBundleBounds = errors.New("the task bundle is over the bounds of a task folder")

// bundleGate checks a bundle's entries against the bounds as they come.
type bundleGate struct {
	entries   int
	fileBytes int64
}

// admit checks one entry (every one, whatever its type), named as cleaned
// and rooted.
func (g *bundleGate) admit(name string, size int64) error {
	if g.entries++; g.entries > maxBundleEntries {
		return fmt.Errorf("%w: more than %d entries", errBundleBounds, maxBundleEntries)
	}
	if len(name) > maxBundleName || strings.Count(name, "/") > maxBundleDepth {
		return fmt.Errorf("%w: a path over %d bytes or %d levels", errBundleBounds, maxBundleName, maxBundleDepth)
	}
	if size < 0 {
		return fmt.Errorf("%w: a negative size", errBundleBounds)
	}
	if g.fileBytes += size; g.fileBytes > maxBundleFileBytes {
		return fmt.Errorf("%w: more than %d bytes of files", errBundleBounds, maxBundleFileBytes)
	}
	return nil
}
