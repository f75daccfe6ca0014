package docker

import (
	"io"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/messages"
)

func TestMounts(t *testing.T) {
	t.Parallel()
	ms := mounts(messages.Limits{Disk: 64, Output: 1 << 20}, 1000, contract.MaxResultBytes(1<<20))
	m, total := tmpfs(ms)
	if !strings.Contains(m["/task"], "size=65536k") || !strings.Contains(m["/task"], "uid=4242") || !strings.Contains(m["/task"], ",exec") {
		t.Errorf("/task = %q", m["/task"])
	}
	if !strings.Contains(m["/tmp"], "size=16384k") || !strings.Contains(m["/tmp"], "mode=1777") {
		t.Errorf("/tmp = %q", m["/tmp"])
	}
	if !strings.Contains(m["/.ingo"], "noexec") || !strings.Contains(m["/archive"], "gid=4242") {
		t.Errorf("/.ingo = %q, /archive = %q", m["/.ingo"], m["/archive"])
	}
	var sum int64
	for _, x := range ms {
		sum += x.size
	}
	if total != sum || total < 64<<20+16<<20+3*(8<<20) {
		t.Errorf("total = %d", total)
	}
	if small := mounts(messages.Limits{Disk: 4}, 0, contract.MaxResultBytes(0)); small[1].size != 4<<20 {
		t.Errorf("/tmp with a 4 MiB disk = %d, want 4 MiB", small[1].size)
	}
}

// TestMuxReader: after the channel's marker line, every byte goes to the
// session's input, however the writes are cut; what comes before it
// (result frames of an older helper included) goes nowhere.
func TestMuxReader(t *testing.T) {
	t.Parallel()
	session := "\x00\x01yamux\nINGO-RESULT 3\nabc"
	tests := []struct {
		name, stdout string
		marker       bool
		want         string // what the session gets
	}{
		{"after noise", "noise\n\n" + channel.Marker + "\n" + session, true, session},
		{"at the start", channel.Marker + "\n" + session, true, session},
		{"frame before it", "\nINGO-RESULT 5\nhello\n" + channel.Marker + "\n" + session, true, session},
		{"in a longer line", "x" + channel.Marker + "\n" + session, false, ""},
		{"in a long line", strings.Repeat("y", 100) + "\n" + channel.Marker + "x\n" + session, false, ""},
		{"no newline after it", "\n" + channel.Marker, false, ""},
		{"a frame alone", "\nINGO-RESULT 5\nhello", false, ""},
	}
	for _, tt := range tests {
		for _, cut := range []int{1, 3, 7, len(tt.stdout)} {
			m := newMuxReader()
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(m.muxIn)
				got <- b
			}()
			for p := tt.stdout; len(p) > 0; {
				n := min(cut, len(p))
				if _, err := m.Write([]byte(p[:n])); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			m.closeMux(nil)
			seen := false
			select {
			case <-m.muxStarted:
				seen = true
			default:
			}
			if b := <-got; seen != tt.marker || string(b) != tt.want {
				t.Errorf("%s, cut %d: marker %v, session got %q; want %v, %q", tt.name, cut, seen, b, tt.marker, tt.want)
			}
		}
	}
}
