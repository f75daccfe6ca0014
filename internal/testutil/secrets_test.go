package testutil

import (
	"testing"
)

// TestLeakedSecrets: a secret logged at debug level through Logger, or
// printed by a process, is found; one that was not logged is not.
func TestLeakedSecrets(t *testing.T) {
	CaptureLogs()
	RegisterSecret("s3cret-logged-by-a-component", "logged")
	RegisterSecret("s3cret-printed-by-a-process", "printed")
	RegisterSecret("s3cret-kept-quiet-everywhere", "quiet")
	RegisterSecret("short", "too short to count")
	Logger(t).Debug("connected", "password", "s3cret-logged-by-a-component")
	p := StartProcess(t, "echo", "/bin/sh", nil, "-c", "echo s3cret-printed-by-a-process")
	<-p.Done()
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	leaked, read := LeakedSecrets()
	if len(leaked) != 2 || leaked[0] != "logged" || leaked[1] != "printed" || read == 0 {
		t.Fatalf("leaked %v in %d bytes", leaked, read)
	}
}
