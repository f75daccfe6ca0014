//go:build unix

package bundle

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
)

var specialFileCases = []refusal{
	{"named pipe", func(t *testing.T, dir string) {
		must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	}, "fifo is a named pipe"},
	{"socket", func(t *testing.T, dir string) {
		// A relative name keeps the path under the socket length limit.
		t.Chdir(dir)
		l, err := net.Listen("unix", "sock")
		must(t, err)
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		must(t, l.Close())
	}, "sock is a socket"},
}
