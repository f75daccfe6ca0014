package sshserver

import (
	"errors"
	"os"
	"syscall"
	"unsafe"

	"github.com/creack/pty"
)

// openPTY opens a pseudo-terminal whose master is in non-blocking mode and
// registered with the runtime poller. pty.Open hands back a master that was
// put in blocking mode (it calls Fd for its ioctls), and a blocking read
// cannot be interrupted by Close: a background process keeping the terminal
// open would then pin the copying goroutine forever.
func openPTY() (master, tty *os.File, err error) {
	m, tty, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	fd, err := syscall.Dup(int(m.Fd()))
	if err != nil {
		tty.Close()
		return nil, nil, err
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		tty.Close()
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), tty, nil
}

// setSize sets the window size of the terminal without calling Fd, which
// would put the master back in blocking mode.
func setSize(master *os.File, cols, rows uint32) error {
	ws := pty.Winsize{Cols: clamp16(cols), Rows: clamp16(rows)}
	sc, err := master.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	err = sc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws)))
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func clamp16(v uint32) uint16 {
	if v > 0xffff {
		return 0xffff
	}
	return uint16(v)
}

// isEIO tells the end of a terminal's output: reading the master fails with
// EIO once every process has closed the slave side.
func isEIO(err error) bool { return errors.Is(err, syscall.EIO) }
