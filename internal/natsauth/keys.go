package natsauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// KeysFile is the name, in a data directory, of the file of seeds.
const KeysFile = "nats-keys.json"

// AdminCredsFile is the name, in a data directory, of the credentials the
// CLI uses by default.
const AdminCredsFile = "admin.creds"

// Keys are an installation's roots of trust: the operator the servers
// trust, the system account the servers use for themselves, the account
// that holds ingo's subjects and JetStream data, and the key that signs
// users (a signing key of the account, so it can be replaced without
// changing the account).
type Keys struct {
	operator, system, account, signing nkeys.KeyPair
	// revoked maps a user's public key to when it was revoked: JWTs of
	// that key issued before then are refused.
	revoked map[string]int64
	// operatorJWT is the operator's JWT as first issued, kept with the
	// keys: nats-server reloads a new account JWT (a revocation) but
	// refuses a reload whose operator JWT changed, and a JWT signed
	// anew differs (its issue time), so it is signed once. Guarded by
	// opMu: servers started at once from the same keys (tests' shared
	// keys) sign it concurrently on first use.
	opMu        sync.Mutex
	operatorJWT string
}

// keysFile is the JSON form of Keys.
type keysFile struct {
	Operator string           `json:"operator_seed"`
	System   string           `json:"system_account_seed"`
	Account  string           `json:"account_seed"`
	Signing  string           `json:"signing_key_seed"`
	Revoked  map[string]int64 `json:"revoked,omitempty"`
	// OperatorJWT: Keys.operatorJWT; absent in files of earlier versions.
	OperatorJWT string `json:"operator_jwt,omitempty"`
}

// NewKeys makes a fresh set of keys (in memory; Save writes them).
func NewKeys() (*Keys, error) {
	var k Keys
	var err error
	if k.operator, err = nkeys.CreateOperator(); err != nil {
		return nil, fmt.Errorf("natsauth: operator key: %w", err)
	}
	if k.system, err = nkeys.CreateAccount(); err != nil {
		return nil, fmt.Errorf("natsauth: system account key: %w", err)
	}
	if k.account, err = nkeys.CreateAccount(); err != nil {
		return nil, fmt.Errorf("natsauth: account key: %w", err)
	}
	if k.signing, err = nkeys.CreateAccount(); err != nil {
		return nil, fmt.Errorf("natsauth: signing key: %w", err)
	}
	k.revoked = map[string]int64{}
	return &k, nil
}

// LoadOrCreate reads dir/KeysFile, or creates it (0600, in a directory
// made 0700) when it does not exist. created says which.
func LoadOrCreate(dir string) (k *Keys, created bool, err error) {
	k, err = Load(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if k, err = NewKeys(); err != nil {
		return nil, false, err
	}
	if err := k.Save(dir); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// Load reads dir/KeysFile; the error wraps fs.ErrNotExist when it is
// missing.
func Load(dir string) (*Keys, error) {
	path := filepath.Join(dir, KeysFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	var f keysFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("natsauth: %s: %w", path, err)
	}
	k := &Keys{revoked: f.Revoked, operatorJWT: f.OperatorJWT}
	if k.revoked == nil {
		k.revoked = map[string]int64{}
	}
	for _, s := range []struct {
		seed string
		kp   *nkeys.KeyPair
		what string
	}{{f.Operator, &k.operator, "operator"}, {f.System, &k.system, "system account"},
		{f.Account, &k.account, "account"}, {f.Signing, &k.signing, "signing key"}} {
		if *s.kp, err = nkeys.FromSeed([]byte(s.seed)); err != nil {
			// The seed itself never goes into the error.
			return nil, fmt.Errorf("natsauth: %s: the %s seed is not valid", path, s.what)
		}
	}
	return k, nil
}

// KeptOperatorJWT is the operator's JWT kept with the keys ("" until one
// is issued or adopted): a caller that wrote a server configuration
// saves the keys when it changed.
func (k *Keys) KeptOperatorJWT() string {
	k.opMu.Lock()
	defer k.opMu.Unlock()
	return k.operatorJWT
}

// Save writes the keys to dir/KeysFile, readable by the owner only (the
// file's owner, when it exists).
func (k *Keys) Save(dir string) error {
	f := keysFile{Revoked: k.revoked, OperatorJWT: k.KeptOperatorJWT()}
	for _, s := range []struct {
		kp  nkeys.KeyPair
		out *string
	}{{k.operator, &f.Operator}, {k.system, &f.System}, {k.account, &f.Account}, {k.signing, &f.Signing}} {
		seed, err := s.kp.Seed()
		if err != nil {
			return fmt.Errorf("natsauth: %w", err)
		}
		*s.out = string(seed)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	return writePrivate(filepath.Join(dir, KeysFile), data)
}

// writePrivate replaces path with data, mode 0600, atomically.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("natsauth: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("natsauth: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	// The file stays its owner's: keys written by root (an ingo command
	// run with sudo) for a backend that runs as a user of its own would
	// be unreadable to it. Only root can give a file away, and only root
	// writes another's file here.
	if st, err := os.Stat(path); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
			if err := os.Chown(tmp.Name(), int(sys.Uid), int(sys.Gid)); err != nil {
				return fmt.Errorf("natsauth: keep the owner of %s: %w", path, err)
			}
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	return nil
}

// Revoke refuses, from the next start of a server that loads these keys
// (or the next configuration it is given), every credential of user
// public key pub issued until now.
func (k *Keys) Revoke(pub string) { k.revoked[pub] = time.Now().Unix() }

// RevokeAll refuses every credential issued until now: what to do when a
// credential leaked and nobody knows which (then mint new ones).
func (k *Keys) RevokeAll() { k.revoked[jwt.All] = time.Now().Unix() }

func pub(kp nkeys.KeyPair) string {
	p, err := kp.PublicKey()
	if err != nil {
		panic(fmt.Sprintf("natsauth: public key of a valid key pair: %v", err)) // cannot happen: FromSeed checked it
	}
	return p
}

// Seeds are the keys' secrets by name, for tests that check that none
// reaches a log.
func (k *Keys) Seeds() map[string]string {
	out := map[string]string{}
	for what, kp := range map[string]nkeys.KeyPair{"operator": k.operator, "system account": k.system, "account": k.account, "signing key": k.signing} {
		if seed, err := kp.Seed(); err == nil {
			out[what] = string(seed)
		}
	}
	return out
}

// Revoked says whether the servers of these keys refuse c.
func (k *Keys) Revoked(c *Credentials) bool {
	uc, err := jwt.DecodeUserClaims(c.JWT)
	if err != nil {
		return true
	}
	for _, who := range []string{uc.Subject, jwt.All} {
		if at, ok := k.revoked[who]; ok && uc.IssuedAt <= at {
			return true
		}
	}
	return false
}
