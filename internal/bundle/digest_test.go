package bundle

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestValidateDigest(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	cases := []struct {
		digest string
		ok     bool
	}{
		{"sha256:" + hex64, true},
		{"sha256:" + strings.ToUpper(hex64), false},
		{"sha256:" + hex64[:63], false},
		{"sha256:" + hex64 + "0", false},
		{"sha256:" + hex64[:63] + "g", false},
		{"sha256-" + hex64, false},
		{"sha512:" + hex64, false},
		{hex64, false},
		{"", false},
		{"sha256:../../" + hex64[:58], false},
	}
	for _, c := range cases {
		err := ValidateDigest(c.digest)
		if c.ok != (err == nil) {
			t.Errorf("ValidateDigest(%q) = %v", c.digest, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("ValidateDigest(%q): %v does not wrap ErrInvalidDigest", c.digest, err)
		}
	}
}

func TestFromBytes(t *testing.T) {
	b := packTree(t, sampleTask())
	r, _ := b.Open()
	data, err := io.ReadAll(r)
	must(t, err)
	must(t, r.Close())

	got, err := FromBytes(b.Digest(), data)
	if err != nil || got.Digest() != b.Digest() || got.Size() != b.Size() {
		t.Fatalf("FromBytes = %v, %v", got, err)
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/2] ^= 1
	cases := []struct {
		name   string
		digest string
		data   []byte
		want   error
	}{
		{"one bit flipped", b.Digest(), flipped, ErrDigestMismatch},
		{"truncated", b.Digest(), data[:len(data)-1], ErrDigestMismatch},
		{"other bundle's digest", packTree(t, map[string]file{"run": {body: "x"}}).Digest(), data, ErrDigestMismatch},
		{"malformed digest", "md5:abc", data, ErrInvalidDigest},
		{"over MaxArchiveSize", b.Digest(), make([]byte, MaxArchiveSize+1), ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := FromBytes(c.digest, c.data); !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}
