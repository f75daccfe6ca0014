package natsauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/ingo-grader/ingo/messages"
)

// Credentials are one NATS user: its JWT, its seed, and what the JWT says
// it is.
type Credentials struct {
	JWT    string
	Seed   []byte
	Role   Role
	Name   string
	Prefix string // the installation's subject prefix
}

// The tags that carry role, name and prefix in a user JWT.
const (
	tagRole   = "ingo-role:"
	tagPrefix = "ingo-prefix:"
)

// Mint signs a new user of role and name for the installation with
// subject prefix prefix ("" is the default). Each call makes a new user
// key, so credentials can be revoked one by one.
func (k *Keys) Mint(role Role, name, prefix string) (*Credentials, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	if err := messages.ValidateID(name); err != nil {
		return nil, fmt.Errorf("natsauth: name: %w", err)
	}
	prefix = messages.NewSubjects(prefix).Prefix
	user, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("natsauth: user key: %w", err)
	}
	uc := jwt.NewUserClaims(pub(user))
	uc.Name = name
	uc.IssuerAccount = pub(k.account)
	uc.Tags.Add(tagRole+string(role), tagPrefix+prefix)
	uc.Permissions = permissions(role, name, prefix)
	// Bounds per connection (the server counts no other way), so that
	// one peer holds little of the server's memory with subscriptions.
	uc.Limits.Subs = MaxSubs
	if role == RoleBackend {
		uc.Limits.Subs = -1
	}
	token, err := uc.Encode(k.signing)
	if err != nil {
		return nil, fmt.Errorf("natsauth: user JWT: %w", err)
	}
	seed, err := user.Seed()
	if err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	return &Credentials{JWT: token, Seed: seed, Role: role, Name: name, Prefix: prefix}, nil
}

// File is the credentials in the form of a NATS .creds file, which the
// nats CLI and every NATS client library read.
func (c *Credentials) File() ([]byte, error) {
	b, err := jwt.FormatUserConfig(c.JWT, c.Seed)
	if err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	return b, nil
}

// WriteFile writes the credentials to path, mode 0600.
func (c *Credentials) WriteFile(path string) error {
	b, err := c.File()
	if err != nil {
		return err
	}
	return writePrivate(path, b)
}

// NATSOptions are what a connection needs to be this user: its JWT and
// seed, and its own inbox prefix (the only one it may receive on).
func (c *Credentials) NATSOptions() []nats.Option {
	return []nats.Option{
		nats.UserJWTAndSeed(c.JWT, string(c.Seed)),
		nats.CustomInboxPrefix(InboxPrefix(c.Role, c.Name)),
	}
}

// ErrNotIngo is wrapped by ParseCreds for a valid NATS credentials file
// that was not made by ingo (no role in its JWT).
var ErrNotIngo = errors.New("not an ingo credentials file")

// ReadCreds reads a .creds file made by `ingo creds` (or Mint).
func ReadCreds(path string) (*Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	c, err := ParseCreds(data)
	if err != nil {
		return nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	return c, nil
}

// ParseCreds reads the contents of a .creds file. The JWT's signature is
// the server's business; this only learns what the JWT says.
func ParseCreds(data []byte) (*Credentials, error) {
	token, err := jwt.ParseDecoratedJWT(data)
	if err != nil {
		return nil, fmt.Errorf("no user JWT: %w", err)
	}
	kp, err := jwt.ParseDecoratedNKey(data)
	if err != nil {
		return nil, errors.New("no valid user seed")
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, errors.New("no valid user seed")
	}
	uc, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return nil, fmt.Errorf("user JWT: %w", err)
	}
	c := &Credentials{JWT: token, Seed: seed, Name: uc.Name}
	for _, t := range uc.Tags {
		// NATS lower-cases tags.
		if v, ok := strings.CutPrefix(t, tagRole); ok {
			c.Role = Role(v)
		}
		if v, ok := strings.CutPrefix(t, tagPrefix); ok {
			c.Prefix = v
		}
	}
	if c.Role == "" {
		return nil, ErrNotIngo
	}
	if _, err := ParseRole(string(c.Role)); err != nil {
		return nil, err
	}
	return c, nil
}

// PublicKey is the user's public key: what a revocation names.
func (c *Credentials) PublicKey() (string, error) {
	uc, err := jwt.DecodeUserClaims(c.JWT)
	if err != nil {
		return "", fmt.Errorf("natsauth: %w", err)
	}
	return uc.Subject, nil
}

// Outdated reports whether c's permissions are not those this version of
// ingo gives its role, name and prefix: credentials made by an earlier
// ingo, which may lack what the protocol needs now (protocol 4's task
// bundles under the client's own subjects), or have what it no longer
// grants. Connecting with them would fail later and obscurely, on a
// permissions violation.
func (c *Credentials) Outdated() bool {
	uc, err := jwt.DecodeUserClaims(c.JWT)
	if err != nil {
		return true
	}
	have, err1 := json.Marshal(uc.Permissions)
	want, err2 := json.Marshal(permissions(c.Role, c.Name, c.Prefix))
	return err1 != nil || err2 != nil || !bytes.Equal(have, want)
}

// MaxSubs bounds the subscriptions of one connection of every role but
// the backend. NATS counts them per connection, not per user, and one
// credential may open any number of connections: each subscription holds
// one to two KiB of the server's memory, which is the backend's process
// for an embedded server. A frontend's client, an agent and the CLI hold
// a few each (their own subject and their inboxes).
const MaxSubs = 256
