package apitoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Role is what a token may do.
type Role string

// The two roles: a frontend sees and kills only the jobs it submitted, an
// admin everything.
const (
	RoleFrontend Role = "frontend"
	RoleAdmin    Role = "admin"
)

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleFrontend, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q: use frontend or admin", s)
}

// Claims is what a token says about its bearer.
type Claims struct {
	Role Role
	// Name identifies the frontend (or admin): tokens of one name share
	// its jobs.
	Name     string
	IssuedAt time.Time
	// ID tells two tokens of one name apart (logs may show it; it is not
	// a secret).
	ID string
}

// payload is the JSON inside a token.
type payload struct {
	Role     Role   `json:"role"`
	Name     string `json:"name"`
	IssuedAt int64  `json:"iat"`
	ID       string `json:"id"`
}

const (
	prefix = "ingo_"
	// KeySize is the HMAC key's length in bytes.
	KeySize = 32
	// MaxLength bounds a token: longer strings are refused before any
	// decoding. A real one is about 150 bytes.
	MaxLength = 512
)

// ErrInvalid is wrapped by every refusal of Verify.
var ErrInvalid = errors.New("invalid API token")

// b64 is strict: a token has one spelling, so a tampered last character
// cannot decode to the same bytes.
var b64 = base64.RawURLEncoding.Strict()

// Issue makes a token for role and name, signed with key.
func Issue(key []byte, role Role, name string, now time.Time) (string, error) {
	if len(key) != KeySize {
		return "", fmt.Errorf("apitoken: key of %d bytes, want %d", len(key), KeySize)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	if err := messages.ValidateID(name); err != nil {
		return "", fmt.Errorf("name: %w", err)
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return "", fmt.Errorf("apitoken: %w", err)
	}
	data, err := json.Marshal(payload{Role: role, Name: name, IssuedAt: now.Unix(), ID: b64.EncodeToString(id)})
	if err != nil {
		return "", fmt.Errorf("apitoken: %w", err)
	}
	signed := prefix + b64.EncodeToString(data)
	return signed + "." + b64.EncodeToString(mac(key, signed)), nil
}

func mac(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Verify checks tok's signature against key in constant time, then reads
// its claims. Errors wrap ErrInvalid and never quote the token.
func Verify(key []byte, tok string) (Claims, error) {
	bad := func(why string) (Claims, error) { return Claims{}, fmt.Errorf("%w: %s", ErrInvalid, why) }
	if len(key) != KeySize {
		return bad("no key to check it with")
	}
	if len(tok) > MaxLength {
		return bad("too long")
	}
	signed, sig, ok := strings.Cut(tok, ".")
	if !ok || !strings.HasPrefix(signed, prefix) {
		return bad("not an ingo API token (ingo_<payload>.<signature>)")
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, signed)) {
		return bad("wrong signature: made with another key, or altered")
	}
	data, err := b64.DecodeString(strings.TrimPrefix(signed, prefix))
	if err != nil {
		return bad("payload is not base64url")
	}
	var p payload
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return bad("payload is not what ingo token writes")
	}
	if _, err := ParseRole(string(p.Role)); err != nil {
		return bad(err.Error())
	}
	if messages.ValidateID(p.Name) != nil {
		return bad("invalid name")
	}
	return Claims{Role: p.Role, Name: p.Name, IssuedAt: time.Unix(p.IssuedAt, 0).UTC(), ID: p.ID}, nil
}
