package bridge

import (
	"encoding/binary"
	"fmt"

	"github.com/ingo-grader/ingo/messages"
)

// maxContainers bounds the maps and lists of one message, as ingo's own
// wire format bounds a list's items: a map costs the decoder about a
// hundred bytes, and one byte of msgpack makes an empty one, so a 16 MiB
// frame of them cost 2 GiB to decode.
const maxContainers = 1 << 17

// maxValues bounds every value of one message, keys included: a job's
// free-form values are bounded (messages.MaxFreeFormItems, a map's keys
// aside), and a 16 MiB frame of one-byte nils made a list of 16 million,
// 256 MiB decoded, that the backend would refuse.
const maxValues = 2*messages.MaxFreeFormItems + 4096

// checkDepth walks a msgpack value without recursion and fails when its
// containers nest deeper than max, when it holds more than maxContainers
// maps and lists or more than maxValues values, or when it is truncated: the decoder recurses, and a
// frame of a few MiB of nested arrays would otherwise exhaust the
// goroutine's stack, which no recover catches.
func checkDepth(b []byte, max int) error {
	// pending[i] is how many values the container at depth i still holds.
	pending := []int{1}
	i := 0
	containers, values := 0, 0
	for len(pending) > 0 {
		if pending[len(pending)-1] == 0 {
			pending = pending[:len(pending)-1]
			continue
		}
		pending[len(pending)-1]--
		if i >= len(b) {
			return fmt.Errorf("truncated")
		}
		c := b[i]
		i++
		skip, children := 0, 0
		need := func(n int) (uint64, bool) {
			if i+n > len(b) {
				return 0, false
			}
			var v uint64
			switch n {
			case 1:
				v = uint64(b[i])
			case 2:
				v = uint64(binary.BigEndian.Uint16(b[i:]))
			case 4:
				v = uint64(binary.BigEndian.Uint32(b[i:]))
			}
			i += n
			return v, true
		}
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			children = 2 * int(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			children = int(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			skip = int(c & 0x1f)
		case c == 0xcc || c == 0xd0:
			skip = 1
		case c == 0xcd || c == 0xd1:
			skip = 2
		case c == 0xca || c == 0xce || c == 0xd2:
			skip = 4
		case c == 0xcb || c == 0xcf || c == 0xd3:
			skip = 8
		case c == 0xd4, c == 0xd5, c == 0xd6, c == 0xd7, c == 0xd8:
			skip = 1 + 1<<(c-0xd4)
		case c == 0xc4 || c == 0xd9, c == 0xc5 || c == 0xda, c == 0xc6 || c == 0xdb:
			w := map[byte]int{0xc4: 1, 0xd9: 1, 0xc5: 2, 0xda: 2, 0xc6: 4, 0xdb: 4}[c]
			n, ok := need(w)
			if !ok {
				return fmt.Errorf("truncated")
			}
			skip = int(n)
		case c == 0xc7, c == 0xc8, c == 0xc9:
			n, ok := need(map[byte]int{0xc7: 1, 0xc8: 2, 0xc9: 4}[c])
			if !ok {
				return fmt.Errorf("truncated")
			}
			skip = int(n) + 1
		case c == 0xdc, c == 0xdd:
			n, ok := need(map[byte]int{0xdc: 2, 0xdd: 4}[c])
			if !ok {
				return fmt.Errorf("truncated")
			}
			children = int(n)
		case c == 0xde, c == 0xdf:
			n, ok := need(map[byte]int{0xde: 2, 0xdf: 4}[c])
			if !ok {
				return fmt.Errorf("truncated")
			}
			children = 2 * int(n)
		default:
			return fmt.Errorf("byte 0x%02x is not msgpack", c)
		}
		if values++; values > maxValues {
			return fmt.Errorf("more than %d values", maxValues)
		}
		if (c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf) {
			if containers++; containers > maxContainers {
				return fmt.Errorf("more than %d maps and lists", maxContainers)
			}
		}
		if skip > len(b)-i {
			return fmt.Errorf("truncated")
		}
		i += skip
		if children > 0 {
			if children > len(b)-i { // each child takes a byte at least
				return fmt.Errorf("truncated")
			}
			if len(pending) >= max {
				return fmt.Errorf("nested deeper than %d", max)
			}
			pending = append(pending, children)
		}
	}
	if i != len(b) {
		return fmt.Errorf("%d bytes after the message", len(b)-i)
	}
	return nil
}
