package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestSlowBodyIsCut: a body that holds upload memory has to come at
// api.upload-min-rate, after bodyGrace, and may not stop for bodyStall.
// Before the rate, a client that sent a byte every 20 s never stalled for
// 30 s and held its reservation as long as it liked. Each case sends part
// of an announced body and then nothing: the timer of the case's setting
// ends it with 408, and the reservation is given back.
func TestSlowBodyIsCut(t *testing.T) {
	oldStall, oldGrace := bodyStall, bodyGrace
	t.Cleanup(func() { bodyStall, bodyGrace = oldStall, oldGrace })
	for _, tc := range []struct {
		name         string
		stall, grace time.Duration
		words        []string
	}{
		{"slower than the minimum rate", time.Hour, 200 * time.Millisecond, []string{"body_timeout", "slower than 1 KiB a second", "api.upload-min-rate"}},
		{"no byte for bodyStall", 200 * time.Millisecond, time.Hour, []string{"body_timeout", "sent nothing for 200ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bodyStall, bodyGrace = tc.stall, tc.grace
			e := newEnv(t, Options{UploadMinRate: 1024})
			e.waitReady()
			tok := e.token(apitoken.RoleFrontend, "trickle")
			owner := principal{role: apitoken.RoleFrontend, name: "trickle"}.owner()

			c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /api/v1/tasks HTTP/1.1\r\nHost: ingo\r\nAuthorization: Bearer %s\r\nContent-Type: application/gzip\r\nContent-Length: %d\r\n\r\n",
				tok, e.srv.opts.MaxBody)
			io.WriteString(c, strings.Repeat("\x1f", 100)) // then nothing
			_ = c.SetReadDeadline(time.Now().Add(wait))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("the slow upload was never cut: %v", err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("the slow upload: %d %s, want 408", resp.StatusCode, data)
			}
			for _, w := range tc.words {
				if !strings.Contains(string(data), w) {
					t.Errorf("%s does not say %q", data, w)
				}
			}
			testutil.Eventually(t, wait, func() bool { return e.srv.uploads.holds(owner) == 0 },
				"the cut upload still holds upload memory")
		})
	}
}
