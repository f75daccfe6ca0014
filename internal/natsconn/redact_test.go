package natsconn

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://ingo:s3cret-pass@nats1:4222", "nats://ingo:xxxxx@nats1:4222"},
		{"nats://s3cret-token@nats1:4222", "nats://xxxxx@nats1:4222"},
		{"nats://a:s3cret-pass@n1:4222,nats://a:s3cret-pass@n2:4222", "nats://a:xxxxx@n1:4222,nats://a:xxxxx@n2:4222"},
		{"tls://u:s3cret-pass@[::1]:4222", "tls://u:xxxxx@[::1]:4222"},
	} {
		got := Redact(c.in)
		if got != c.want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Redact("nats://u:s3cret%zz@host"); strings.Contains(got, "s3cret") {
		t.Errorf("an unparsable URL kept its secret: %q", got)
	}
}
