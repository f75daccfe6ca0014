package jsonitems

// Count returns how many values data holds, itself included: every
// object, array, string, number, true, false and null at any depth
// (object keys are not values). It stops as soon as the count is over
// max, and then returns max+1. It does not validate: what is not JSON is
// counted roughly, and left to the decoder that runs next to refuse.
func Count(data []byte, max int) int {
	n := 0
	// objects[d] says whether the container at depth d is an object; a
	// string in an object after '{' or ',' is a key.
	var objects []bool
	key := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case ' ', '\t', '\n', '\r', ':':
			continue
		case ',':
			key = len(objects) > 0 && objects[len(objects)-1]
			continue
		case ']', '}':
			if len(objects) > 0 {
				objects = objects[:len(objects)-1]
			}
			key = false
			continue
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if key {
				key = false
				continue
			}
		case '[', '{':
			objects = append(objects, c == '{')
			key = c == '{'
		default: // a number, true, false or null: up to the next delimiter
			for i+1 < len(data) && !delimiter(data[i+1]) {
				i++
			}
		}
		if n++; n > max {
			return max + 1
		}
	}
	return n
}

func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', ']', '}', '[', '{', '"':
		return true
	}
	return false
}
