package helper

import "syscall"

// notDumpable makes this process non-dumpable: its /proc entries, /proc/1/fd
// among them, then belong to root, so processes of the same uid (the
// grader, the student's code) can no longer open its descriptors.
// Children get their own dumpable flag back when they exec.
func notDumpable() error {
	const prSetDumpable = 4
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
