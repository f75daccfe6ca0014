package bundle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io/fs"
	"time"
)

// fileStamp is what says that a file changed without reading it: its
// modification time, and where the system has them its device, inode and
// change time (which no user can set: a file replaced or written gets a
// new one, whatever its modification time is made to say).
type fileStamp struct {
	mtime int64 // Unix nanoseconds
	sys   [4]int64
}

// stampOf is info's stamp.
func stampOf(info fs.FileInfo) fileStamp {
	return fileStamp{mtime: info.ModTime().UnixNano(), sys: sysStamp(info)}
}

// Stamp is what StampCourse says of a task folder and its common folder.
type Stamp struct {
	// Sum changes whenever a file is added, removed, renamed, changed or
	// made executable (or not) in either folder.
	Sum string
	// Newest is the latest modification time of their files: a file
	// changed again within the clock's step may keep its time, and a
	// Sum taken then says nothing of the change (see Settled).
	Newest time.Time
}

// Settled says whether the stamp was taken well after its folders' last
// change: then a file written again has a later time than the one the
// stamp holds, even where the system keeps no change time and counts
// modification times in seconds.
func (s Stamp) Settled(takenAt time.Time) bool {
	return takenAt.Sub(s.Newest) > 2*time.Second
}

// StampCourse stamps what PackCourse(dir, common, limits) would pack,
// without reading a byte of it: a client that packed a folder of the same
// stamp has its bundle. It fails as PackCourse would on what it cannot
// pack.
func StampCourse(dir, common string, limits PackLimits) (Stamp, error) {
	entries, closeRoots, err := scanCourse(dir, common, limits)
	if err != nil {
		return Stamp{}, err
	}
	closeRoots()
	h := sha256.New()
	var newest int64
	var buf [8]byte
	word := func(v int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	for _, e := range entries {
		word(int64(len(e.name)))
		h.Write([]byte(e.name))
		flags := int64(0)
		if e.dir {
			flags |= 1
		}
		if e.exec {
			flags |= 2
		}
		word(flags)
		word(e.size)
		word(e.stamp.mtime)
		for _, v := range e.stamp.sys {
			word(v)
		}
		newest = max(newest, e.stamp.mtime)
	}
	return Stamp{Sum: hex.EncodeToString(h.Sum(nil)), Newest: time.Unix(0, newest)}, nil
}
