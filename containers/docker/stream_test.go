package docker

import (
	"io"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/messages"
)

func TestFrameReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("y", 200)
	cases := []struct {
		name, in string
		max      int64
		want     string
		got      bool
		tooBig   bool
	}{
		{"alone", "\nINGO-RESULT 5\nhello", 10, "hello", true, false},
		{"after junk", "junk\nmore INGO-RESULT 3\nxx\nINGO-RESULT 5\nhello", 10, "hello", true, false},
		{"long junk line", long + "INGO-RESULT 2\nno\nINGO-RESULT 2\nok", 10, "ok", true, false},
		{"last wins", "INGO-RESULT 1\na\nINGO-RESULT 1\nb", 10, "b", true, false},
		{"body with newlines", "INGO-RESULT 8\na\nINGO-\n", 10, "a\nINGO-\n", true, false},
		{"truncated body", "INGO-RESULT 9\nhello", 10, "", false, false},
		{"over the bound", "INGO-RESULT 11\nhello world", 10, "", true, true},
		{"bad length", "INGO-RESULT -1\nINGO-RESULT x\n", 10, "", false, false},
		{"nothing", "some output\n", 10, "", false, false},
	}
	for _, tc := range cases {
		// Byte by byte and at once: the frames cross writes.
		for _, step := range []int{1, 3, len(tc.in)} {
			f := newFrameReader(tc.max)
			for i := 0; i < len(tc.in); i += step {
				_, _ = f.Write([]byte(tc.in[i:min(i+step, len(tc.in))]))
			}
			if f.gotSome != tc.got || f.tooBig != tc.tooBig || string(f.result) != tc.want {
				t.Errorf("%s (step %d): got %v tooBig %v result %q; want %v %v %q", tc.name, step, f.gotSome, f.tooBig, f.result, tc.got, tc.tooBig, tc.want)
			}
		}
	}
}

func TestMounts(t *testing.T) {
	t.Parallel()
	ms := mounts(messages.Limits{Disk: 64, Output: 1 << 20}, 1000)
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
	if small := mounts(messages.Limits{Disk: 4}, 0); small[1].size != 4<<20 {
		t.Errorf("/tmp with a 4 MiB disk = %d, want 4 MiB", small[1].size)
	}
}

// TestFrameReaderMarker: after the channel's marker line, every byte goes
// to the session's input, however the writes are cut, and frames are no
// longer looked for.
func TestFrameReaderMarker(t *testing.T) {
	stream := "noise\n" + "\n" + channel.Marker + "\n" + "\x00\x01yamux\nINGO-RESULT 3\nabc"
	for _, cut := range []int{1, 3, 7, len(stream)} {
		f := newFrameReader(1 << 20)
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(f.muxIn)
			got <- b
		}()
		for p := stream; len(p) > 0; {
			n := min(cut, len(p))
			if _, err := f.Write([]byte(p[:n])); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		f.closeMux(nil)
		select {
		case <-f.muxStarted:
		default:
			t.Fatalf("cut %d: the marker was not seen", cut)
		}
		if b := <-got; string(b) != "\x00\x01yamux\nINGO-RESULT 3\nabc" || f.gotSome {
			t.Errorf("cut %d: session got %q, frame seen %v", cut, b, f.gotSome)
		}
	}
}
