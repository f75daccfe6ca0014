package api

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that announces the largest body and then sends nothing gives
// its share of the upload memory back once its body stalls for
// bodyStall: another frontend's submission, which waited behind it, is
// taken, and the stalled request is answered with an error.
func TestStalledUploadGivesItsMemoryBack(t *testing.T) {
	old := bodyStall
	bodyStall = 300 * time.Millisecond
	t.Cleanup(func() { bodyStall = old })
	e := newEnv(t, Options{AdminToken: testToken})
	e.waitReady()

	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v1/tasks HTTP/1.1\r\nHost: ingo\r\nAuthorization: Bearer %s\r\nContent-Type: application/gzip\r\nContent-Length: %d\r\n\r\n",
		testToken, e.srv.opts.MaxBody)
	// Its reservation is taken once the server reads its head; the job
	// below then waits for it (the whole of UploadMemory).
	time.Sleep(100 * time.Millisecond)
	done := make(chan int, 1)
	go func() {
		code, _ := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "after-the-stall"}), bearer(testToken)...)
		done <- code
	}()
	select {
	case code := <-done:
		if code != http.StatusAccepted {
			t.Fatalf("the job after a stalled upload: %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a stalled upload still holds the upload memory")
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("the stalled upload was answered %d", resp.StatusCode)
		}
	}
}
