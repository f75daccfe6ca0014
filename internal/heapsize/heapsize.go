package heapsize

// Of estimates what v holds: its interface's box and what it points to.
// A map counts its table of groups of 8 slots (Go's maps keep at most 7/8
// of them full).
func Of(v any) int64 {
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
			n += Of(e)
		}
		return n
	case map[string]any:
		n := mapBytes(len(x))
		for k, e := range x {
			n += int64(len(k)) + Of(e)
		}
		return n
	case map[any]any:
		n := mapBytes(len(x))
		for k, e := range x {
			n += Of(k) + Of(e)
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
