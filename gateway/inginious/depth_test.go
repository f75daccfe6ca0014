package bridge

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// array32 is a msgpack array of n items, each the bytes of item.
func array32(n int, item []byte) []byte {
	b := []byte{0xdd, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(n))
	return append(b, bytes.Repeat(item, n)...)
}

func TestCheckDepth(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want string // "" for accepted
	}{
		{"a map of a string", []byte{0x81, 0xa1, 'k', 0xa1, 'v'}, ""},
		{"many empty maps, within the bound", array32(maxContainers-1, []byte{0x80}), ""},
		{"more empty maps than the bound", array32(maxContainers, []byte{0x80}), "more than"},
		{"more empty lists than the bound", array32(maxContainers, []byte{0x90}), "more than"},
		{"many nils, within the bound", array32(maxValues-1, []byte{0xc0}), ""},
		{"more nils than the bound", array32(maxValues, []byte{0xc0}), "more than"},
		{"nested past the bound", append(bytes.Repeat([]byte{0x91}, maxNesting+1), 0xc0), "nested deeper"},
		{"truncated", []byte{0x82, 0xa1, 'k'}, "truncated"},
		{"bytes after the message", []byte{0xc0, 0xc0}, "after the message"},
	} {
		err := checkDepth(c.b, maxNesting)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func TestCutName(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	got := cutName(long)
	if len(got) != 256 || !strings.HasPrefix(long, got) {
		t.Errorf("cut to %d bytes", len(got))
	}
	if got := cutName("webapp"); got != "webapp" {
		t.Errorf("cut a short name to %q", got)
	}
	if got := cutName("a" + long); len(got) != 255 {
		t.Errorf("cut mid-character: %d bytes", len(got))
	}
}
