package bridge

// decodedBytes estimates what v, a value msgpack decoded, holds in
// memory: its interface's box and what it points to, a map its table of
// groups of 8 slots (Go's maps keep at most 7/8 of them full), as the
// backend reckons a job's description (backend.heldBytes). Three bytes of
// msgpack make a map of one key holding a map, some 300 bytes decoded.
func decodedBytes(v any) int64 {
	switch x := v.(type) {
	case nil, bool:
		return 0
	case string:
		return 16 + int64(len(x))
	case []byte:
		return 24 + int64(len(x))
	case []any:
		n := 24 + 16*int64(cap(x))
		for _, e := range x {
			n += decodedBytes(e)
		}
		return n
	case map[string]any:
		n := mapBytes(len(x))
		for k, e := range x {
			n += int64(len(k)) + decodedBytes(e)
		}
		return n
	case map[any]any:
		n := mapBytes(len(x))
		for k, e := range x {
			n += decodedBytes(k) + decodedBytes(e)
		}
		return n
	}
	return 16 // a number, boxed
}

// mapBytes is a map's header and table of n entries of 32 bytes (a
// string or interface key, an interface value).
func mapBytes(n int) int64 {
	groups := max((int64(n)*8/7+7)/8, 1)
	return 48 + groups*(8+8*32)
}
