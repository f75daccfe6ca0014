package frontendclient

import "testing"

func TestIDSet(t *testing.T) {
	tests := []struct {
		name   string
		add    []string
		remove []string
		has    map[string]bool
	}{
		{"empty", nil, nil, map[string]bool{"a": false}},
		{"within bounds", []string{"a", "b", "c"}, nil, map[string]bool{"a": true, "b": true, "c": true}},
		{"oldest forgotten first", []string{"a", "b", "c", "d"}, nil, map[string]bool{"a": false, "b": true, "d": true}},
		{"re-adding does not take a slot", []string{"a", "a", "a", "b", "c"}, nil, map[string]bool{"a": true, "c": true}},
		{"removed", []string{"a", "b"}, []string{"a", "x"}, map[string]bool{"a": false, "b": true}},
		{"slot of a removed id reused", []string{"a", "b", "c"}, []string{"a"}, map[string]bool{"b": true, "c": true}},
		{"wraps many times", []string{"1", "2", "3", "4", "5", "6", "7"}, nil, map[string]bool{"4": false, "5": true, "7": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newIDSet(3)
			for _, id := range tt.add {
				s.add(id)
			}
			for _, id := range tt.remove {
				s.remove(id)
			}
			for id, want := range tt.has {
				if got := s.has(id); got != want {
					t.Errorf("has(%q) = %v, want %v", id, got, want)
				}
			}
			if len(s.ids) > 3 {
				t.Errorf("%d ids kept, bound 3", len(s.ids))
			}
		})
	}
}
