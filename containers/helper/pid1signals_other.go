//go:build !linux

package helper

import (
	"os"
	"syscall"
)

// fatalSignals: see the Linux file; the same where they exist.
var fatalSignals = []os.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP,
	syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV, syscall.SIGSYS}
