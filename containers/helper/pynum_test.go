package helper

import "testing"

// TestCustomValueAsPython: feedback-custom turns VALUE into what Python's
// int(), else float(), makes of it (INGInious' feedback_custom.py), else
// keeps the string. Go's own parsers accept other spellings: "1_000" is
// no int for strconv.ParseInt (so it became the float 1000.0, where
// INGInious' webapp gets the int 1000), and ParseFloat reads Go's hex
// floats ("0x1p4", 16.0), which Python's float() refuses.
func TestCustomValueAsPython(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"42", "42"},
		{" 42 ", "42"},
		{"+5", "5"},
		{"-7", "-7"},
		{"010", "10"},
		{"1_000", "1000"}, // int("1_000") == 1000
		{"-1_000_000", "-1000000"},
		{"1__000", `"1__000"`}, // one underscore between digits only
		{"_1", `"_1"`},
		{"1_", `"1_"`},
		{"1.0", "1.0"},
		{"1e3", "1000.0"},
		{"1_0.5", "10.5"}, // float("1_0.5") == 10.5
		{"0x10", `"0x10"`},
		{"0x1p4", `"0x1p4"`}, // Python: ValueError, the string stays
		{"0X1.8P1", `"0X1.8P1"`},
		{"12abc", `"12abc"`},
		{"", `""`},
	}
	for _, tt := range tests {
		got, err := customValue(tt.in, false)
		if err != nil || string(got) != tt.want {
			t.Errorf("customValue(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

// TestParseGradeAsPython: feedback-grade takes what Python's float()
// takes (INGInious' set_grade), and refuses Go's hex floats as float()
// does.
func TestParseGradeAsPython(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"87.5", 87.5, true},
		{" 1e1 ", 10, true},
		{"1_0", 10, true},
		{"0x1p4", 0, false},
		{"0x10", 0, false},
		{"abc", 0, false},
	}
	for _, tt := range tests {
		got, err := parseGrade(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseGrade(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
