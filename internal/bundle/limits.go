package bundle

import "fmt"

// Defaults of PackLimits.
const (
	// DefaultMaxBytes bounds the total size of the files of a task folder.
	DefaultMaxBytes = 64 << 20
	// DefaultMaxFiles bounds the entries (files and directories) of a folder.
	DefaultMaxFiles = 10000
)

// PackLimits bound what Pack packs and what Extract writes. The zero value
// (or any field at zero or below) means the defaults.
type PackLimits struct {
	// MaxBytes bounds the sum of the sizes of the regular files.
	MaxBytes int64
	// MaxFiles bounds the number of entries, files and directories alike
	// (each costs a tar header and an inode).
	MaxFiles int
}

func (l PackLimits) withDefaults() PackLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	return l
}

func tooManyFiles(what string, limit int) error {
	return fmt.Errorf("%w: %s has more than %d files and directories", ErrTooLarge, what, limit)
}

func tooManyBytes(what string, limit int64) error {
	return fmt.Errorf("%w: %s holds more than %s of files", ErrTooLarge, what, formatBytes(limit))
}

// formatBytes prints sizes the way task authors think of them.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// MaxInflated bounds what reading an archive of these limits may
// decompress, headers and padding included (InflateBound): twice the
// files' bound, and 4 KiB of headers and padding for each entry (a long
// name takes a PAX header of about 2 KiB), so that small limits with
// many entries still read every archive they admit.
func (l PackLimits) MaxInflated() int64 {
	l = l.withDefaults()
	return 2*l.MaxBytes + int64(l.MaxFiles)*4<<10
}
