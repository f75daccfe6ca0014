package helper

import (
	"os"
	"syscall"
)

// fatalSignals are the signals Go's runtime exits of, when another
// process sends them and nobody asked for them (sigtable's _SigKill,
// _SigThrow and _SigPanic entries); SIGINT and SIGTERM are the helper's
// stop signals, handled apart.
var fatalSignals = []os.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP,
	syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV, syscall.SIGSYS, syscall.SIGSTKFLT}
