package settings

import "testing"

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	good := map[string]ByteSize{
		"0": 0, "1000": 1000, "512KiB": 512 << 10, "64MiB": 64 << 20, "1GiB": 1 << 30,
		"1.5GiB": 3 << 29, "1GB": 1e9, "10kb": 10e3, "2m": 2 << 20, " 3 MiB ": 3 << 20, "7B": 7,
	}
	for in, want := range good {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1MiB", "1XB", "NaN"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) succeeded", in)
		}
	}
}

func TestByteSize_String(t *testing.T) {
	t.Parallel()
	for in, want := range map[ByteSize]string{0: "0", 1 << 30: "1GiB", 3 << 19: "1536KiB", 1000: "1000", 256 << 20: "256MiB"} {
		if got := in.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(in), got, want)
		}
	}
}
