package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Sentinel errors, wrapped by the errors of this package.
var (
	// ErrDigestMismatch: bytes do not hash to the digest they were named by.
	ErrDigestMismatch = errors.New("bundle digest mismatch")
	// ErrInvalidDigest: a string is not of the form "sha256:<64 lowercase hex>".
	ErrInvalidDigest = errors.New("invalid bundle digest")
	// ErrNotFound: the store has no bundle of that digest.
	ErrNotFound = errors.New("bundle not found")
	// ErrTooLarge: a folder or an archive is over PackLimits or MaxArchiveSize.
	ErrTooLarge = errors.New("bundle too large")
	// ErrUnsupportedFile: Pack found something that is not a regular file or
	// a directory (a symbolic link, a device, a socket, a pipe).
	ErrUnsupportedFile = errors.New("unsupported file in task folder")
	// ErrUnsafeEntry: Extract found an entry it will not write (an absolute
	// or escaping path, a link, a special file, a duplicate).
	ErrUnsafeEntry = errors.New("unsafe archive entry")
)

const digestPrefix = "sha256:"

// MaxArchiveSize bounds the .tar.gz bytes of any bundle, whatever the
// PackLimits: stores and caches refuse larger objects before reading them.
// With the default limits an archive stays well under it (64 MiB of content
// plus tar headers, which compress to little).
const MaxArchiveSize = 2 * DefaultMaxBytes

// Bundle is a task folder packed as a deterministic gzipped tar; it
// implements TaskBundle (containers.TaskBundle). Its bytes are immutable.
type Bundle struct {
	digest string
	data   []byte
}

// TaskBundle is containers.TaskBundle, spelled out here (see there) so that
// this package, which frontendclient imports, does not import containers.
type TaskBundle = interface {
	// Digest is "sha256:<hex>" of the archive.
	Digest() string
	// Open returns the archive (.tar.gz) from its start; the caller closes it.
	Open() (io.ReadCloser, error)
}

var _ TaskBundle = (*Bundle)(nil)

// FromBytes returns the bundle of data, checking that data hashes to digest.
// The error wraps ErrInvalidDigest, ErrTooLarge or ErrDigestMismatch.
func FromBytes(digest string, data []byte) (*Bundle, error) {
	if err := ValidateDigest(digest); err != nil {
		return nil, err
	}
	if len(data) > MaxArchiveSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the limit of %d", ErrTooLarge, digest, len(data), MaxArchiveSize)
	}
	if got := digestOf(data); got != digest {
		return nil, fmt.Errorf("%w: expected %s, the bytes hash to %s", ErrDigestMismatch, digest, got)
	}
	return &Bundle{digest: digest, data: data}, nil
}

// Digest is "sha256:<hex>" of the .tar.gz bytes.
func (b *Bundle) Digest() string { return b.digest }

// Open returns the .tar.gz bytes from their start. Closing is not needed
// (they are in memory) but callers of a TaskBundle do it anyway.
func (b *Bundle) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b.data)), nil
}

// Size is the length of the .tar.gz bytes.
func (b *Bundle) Size() int64 { return int64(len(b.data)) }

// ValidateDigest checks that digest is "sha256:" and 64 lowercase hex
// digits: the one spelling, so that one bundle has one object name.
func ValidateDigest(digest string) error {
	h, ok := strings.CutPrefix(digest, digestPrefix)
	if !ok || len(h) != 2*sha256.Size || strings.ToLower(h) != h {
		return fmt.Errorf("%w: %q (want %s followed by %d lowercase hex digits)", ErrInvalidDigest, digest, digestPrefix, 2*sha256.Size)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidDigest, digest, err)
	}
	return nil
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return digestPrefix + hex.EncodeToString(sum[:])
}

// objectName is the name of a bundle in the store's subjects and in a
// cache directory: the digest with '-' for ':', which some filesystems
// refuse.
// Only valid digests reach it.
func objectName(digest string) string {
	return strings.Replace(digest, ":", "-", 1)
}
