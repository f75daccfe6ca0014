package contract

import "testing"

// The OOM kill count is read alike from a string (the runtime) and from
// bytes (the student helper, without allocating).
func TestParseOOMKills(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		want       int64
		ok         bool
	}{
		{"v1", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", 2, true},
		{"v2", "low 0\nhigh 0\nmax 41\noom 3\noom_kill 3\noom_group_kill 0\n", 3, true},
		{"last line without newline", "oom 1\noom_kill 12", 12, true},
		{"spaces and CR", "oom_kill  5 \r\n", 5, true},
		{"zero", "oom_kill 0\n", 0, true},
		{"a kernel before 4.13", "oom_kill_disable 0\nunder_oom 0\n", 0, false},
		{"not a number", "oom_kill x1\n", 0, false},
		{"negative", "oom_kill -1\n", 0, false},
		{"too long", "oom_kill 1234567890123456789\n", 0, false},
		{"empty value", "oom_kill \n", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, got := range []func() (int64, error){
				func() (int64, error) { return ParseOOMKills(tt.data) },
				func() (int64, error) { return ParseOOMKills([]byte(tt.data)) },
			} {
				n, err := got()
				if (err == nil) != tt.ok || n != tt.want {
					t.Errorf("= %d, %v; want %d, ok %v", n, err, tt.want, tt.ok)
				}
			}
		})
	}
	b := []byte("oom 3\noom_kill 3\noom_group_kill 0\n")
	if a := testing.AllocsPerRun(100, func() { _, _ = ParseOOMKills(b) }); a != 0 {
		t.Errorf("ParseOOMKills of bytes allocates %v times, want none", a)
	}
}
