package jsonitems

// Count returns how many values data holds, itself included: every
// object, array, string, number, true, false and null at any depth
// (object keys are not values). It stops as soon as the count is over
// max, and then returns max+1. It does not validate: what is not JSON is
// counted roughly, and left to the decoder that runs next to refuse.
func Count(data []byte, max int) int {
	c := Counter{Max: max}
	c.Write(data)
	return c.N()
}

// Counter is Count for a document that comes in pieces (Write each in
// turn), so that a decoder reading a stream can be stopped before it has
// the whole, without a copy of it first.
type Counter struct {
	// Max is the count past which Write fails.
	Max int
	n   int
	// objects[d] says whether the container at depth d is an object; a
	// string in an object after '{' or ',' is a key.
	objects []bool
	key     bool
	// Where the last piece ended: inside a string (after a backslash),
	// or inside a number, true, false or null.
	inString, escaped, inScalar bool
	// closed: a top-level object or array has ended.
	closed bool
}

// Write counts the values of the next piece of the document. It returns
// false, and counts no further, once they are more than Max.
func (c *Counter) Write(p []byte) bool {
	for i := 0; i < len(p) && c.n <= c.Max; i++ {
		b := p[i]
		switch {
		case c.escaped:
			c.escaped = false
			continue
		case c.inString:
			c.escaped = b == '\\'
			c.inString = b != '"'
			continue
		case c.inScalar:
			if !delimiter(b) {
				continue
			}
			c.inScalar = false
		}
		switch b {
		case ' ', '\t', '\n', '\r', ':':
			continue
		case ',':
			c.key = len(c.objects) > 0 && c.objects[len(c.objects)-1]
			continue
		case ']', '}':
			if len(c.objects) > 0 {
				c.objects = c.objects[:len(c.objects)-1]
				c.closed = c.closed || len(c.objects) == 0
			}
			c.key = false
			continue
		case '"':
			c.inString = true
			if c.key {
				c.key = false
				continue
			}
		case '[', '{':
			c.objects = append(c.objects, b == '{')
			c.key = b == '{'
		default: // a number, true, false or null: up to the next delimiter
			c.inScalar = true
		}
		c.n++
	}
	return c.n <= c.Max
}

// Closed says whether a top-level object or array has ended: a decoder
// that reads one value has all of it.
func (c *Counter) Closed() bool { return c.closed }

// N is the count so far: at most Max+1.
func (c *Counter) N() int { return min(c.n, c.Max+1) }

func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', ']', '}', '[', '{', '"':
		return true
	}
	return false
}
