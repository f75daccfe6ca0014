package bundle

import (
	"io/fs"
	"syscall"
)

// sysStamp is info's device, inode and change time.
func sysStamp(info fs.FileInfo) [4]int64 {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return [4]int64{}
	}
	return [4]int64{int64(st.Dev), int64(st.Ino), st.Ctim.Sec, st.Ctim.Nsec}
}
