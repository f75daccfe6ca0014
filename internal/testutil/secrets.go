package testutil

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"sync"
)

// A test binary that calls CaptureLogs keeps every log line its components
// write (through Logger, at debug level, and the output of StartProcess),
// and every secret the tests made or saw (RegisterSecret: credentials,
// seeds, tokens, passwords), so that its TestMain can check with
// LeakedSecrets that none reached a log (DESIGN.md §8).
var capture struct {
	mu      sync.Mutex
	on      bool
	logs    bytes.Buffer
	secrets map[string]string // secret -> what it is
}

// maxCapture bounds the kept logs: past it the oldest half goes.
const maxCapture = 256 << 20

// CaptureLogs starts keeping logs and secrets for LeakedSecrets.
func CaptureLogs() {
	capture.mu.Lock()
	defer capture.mu.Unlock()
	capture.on = true
	if capture.secrets == nil {
		capture.secrets = map[string]string{}
	}
}

func capturing() bool {
	capture.mu.Lock()
	defer capture.mu.Unlock()
	return capture.on
}

// captureWriter copies what it gets into the capture.
type captureWriter struct{}

func (captureWriter) Write(p []byte) (int, error) {
	capture.mu.Lock()
	defer capture.mu.Unlock()
	if capture.logs.Len()+len(p) > maxCapture {
		rest := append([]byte(nil), capture.logs.Bytes()[capture.logs.Len()/2:]...)
		capture.logs.Reset()
		capture.logs.Write(rest)
	}
	capture.logs.Write(p)
	return len(p), nil
}

// teeCapture adds the capture to w when capturing.
func teeCapture(w io.Writer) io.Writer {
	if !capturing() {
		return w
	}
	return io.MultiWriter(w, captureWriter{})
}

// RegisterSecret records a secret the tests hold; what says what it is
// (the report names it, never shows it). Secrets shorter than 8 bytes are
// ignored: they would match by chance.
func RegisterSecret(secret, what string) {
	if len(secret) < 8 {
		return
	}
	capture.mu.Lock()
	defer capture.mu.Unlock()
	if capture.on {
		capture.secrets[secret] = what
	}
}

// LeakedSecrets lists, by what they are, the registered secrets found in
// the captured logs, and how many bytes of logs were read.
func LeakedSecrets() (leaked []string, read int) {
	capture.mu.Lock()
	defer capture.mu.Unlock()
	logs := capture.logs.Bytes()
	for secret, what := range capture.secrets {
		if bytes.Contains(logs, []byte(secret)) {
			leaked = append(leaked, what)
		}
	}
	sort.Strings(leaked)
	return leaked, len(logs)
}

// CheckNoLeaks is the end of a TestMain that called CaptureLogs: it says
// how many secrets it checked in how many bytes of logs, and turns a
// passing code into a failure when a secret leaked.
func CheckNoLeaks(code int) int {
	leaked, read := LeakedSecrets()
	capture.mu.Lock()
	n := len(capture.secrets)
	capture.mu.Unlock()
	if len(leaked) > 0 {
		fmt.Printf("SECRETS IN LOGS: %d of %d secrets appear in %d bytes of logs: %v\n", len(leaked), n, read, leaked)
		return 1
	}
	fmt.Printf("no secret in logs: %d secrets checked against %d bytes of logs\n", n, read)
	return code
}
