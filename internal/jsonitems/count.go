package jsonitems

// Count returns how many values data holds, itself included: every
// object, array, string, number, true, false and null at any depth
// (object keys are not values). It stops as soon as the count is over
// max, and then returns max+1. It does not validate: what is not JSON is
// counted roughly, and left to the decoder that runs next to refuse.
func Count(data []byte, max int) int {
	c := NewCounter(max)
	c.Feed(data)
	return c.Count()
}

// Counter is Count over a stream, fed as it is read: a decoder reading
// through it (encoding/json reads a whole value before it decodes it)
// can be stopped before it builds anything.
type Counter struct {
	max, n int
	// objects[d] says whether the container at depth d is an object; a
	// string in an object after '{' or ',' is a key.
	objects []bool
	key     bool // the next string is a key
	str     bool // inside a string
	esc     bool // after a backslash in a string
	scalar  bool // inside a number, true, false or null
}

// NewCounter counts up to max+1 values.
func NewCounter(max int) *Counter { return &Counter{max: max} }

// Count is how many values were fed, max+1 at most.
func (c *Counter) Count() int { return min(c.n, c.max+1) }

// Over says whether more than max values were fed.
func (c *Counter) Over() bool { return c.n > c.max }

// Feed counts the values that start in p, the next bytes of the stream,
// and says whether the count is over max (then it stops counting).
func (c *Counter) Feed(p []byte) (over bool) {
	for _, b := range p {
		if c.n > c.max {
			return true
		}
		c.feed(b)
	}
	return c.n > c.max
}

func (c *Counter) feed(b byte) {
	if c.str {
		switch {
		case c.esc:
			c.esc = false
		case b == '\\':
			c.esc = true
		case b == '"':
			c.str = false
		}
		return
	}
	if c.scalar {
		if !delimiter(b) {
			return
		}
		c.scalar = false
	}
	switch b {
	case ' ', '\t', '\n', '\r', ':':
		return
	case ',':
		c.key = len(c.objects) > 0 && c.objects[len(c.objects)-1]
		return
	case ']', '}':
		if len(c.objects) > 0 {
			c.objects = c.objects[:len(c.objects)-1]
		}
		c.key = false
		return
	case '"':
		c.str = true
		if c.key {
			c.key = false
			return
		}
	case '[', '{':
		c.objects = append(c.objects, b == '{')
		c.key = b == '{'
	default:
		c.scalar = true
	}
	c.n++
}

func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', ']', '}', '[', '{', '"':
		return true
	}
	return false
}
