package pyrepr

import (
	"math"
	"testing"
)

// The texts are Python 3's str of the same values.
func TestKey(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{"x", "x"}, {nil, "None"}, {true, "True"}, {false, "False"},
		{2, "2"}, {int8(-3), "-3"}, {uint64(math.MaxUint64), "18446744073709551615"},
		{2.0, "2.0"}, {1.5, "1.5"}, {math.Copysign(0, -1), "-0.0"}, {1e6, "1000000.0"}, {1e16, "1e+16"},
		{1e-5, "1e-05"}, {0.0001, "0.0001"}, {float32(0.5), "0.5"}, {0.1, "0.1"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {math.NaN(), "nan"},
	} {
		if got := Key(c.in); got != c.want {
			t.Errorf("Key(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
