package apitoken

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files in the data directory.
const (
	// KeyFile holds the HMAC key (base64url, one line), 0600.
	KeyFile = "api-token.key"
	// TokenFile holds the admin token ingo up made, 0600, so that
	// `curl -H "Authorization: Bearer $(cat DATADIR/api-token)"` works.
	TokenFile = "api-token"
	// UpTokenName is the name in the token of TokenFile.
	UpTokenName = "admin"
)

// LoadOrCreateKey reads the key of dir, or creates it (and dir) when there
// is none. Two processes creating it at once end up with the same key:
// the file appears whole or not at all (link of a complete temporary file).
func LoadOrCreateKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, KeyFile)
	if key, err := readKey(path); !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("apitoken: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the API token key: %w", err)
	}
	if err := createExclusive(path, []byte(b64.EncodeToString(key)+"\n")); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path) // someone else was first
		}
		return nil, fmt.Errorf("create the API token key: %w", err)
	}
	return key, nil
}

func readKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the API token key: %w", err)
	}
	key, err := b64.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("%s is not an API token key (%d random bytes, base64url); delete it to make a new one, which revokes every token made from it", path, KeySize)
	}
	return key, nil
}

// EnsureAdminToken returns the path of dir's TokenFile, holding an admin
// token valid for key: the one there when it still verifies, else a new
// one (first start, or the key was replaced). created says which.
func EnsureAdminToken(dir string, key []byte, now time.Time) (path string, created bool, err error) {
	path = filepath.Join(dir, TokenFile)
	if data, err := os.ReadFile(path); err == nil {
		if c, err := Verify(key, strings.TrimSpace(string(data))); err == nil && c.Role == RoleAdmin {
			return path, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return path, false, fmt.Errorf("read the admin token: %w", err)
	}
	tok, err := Issue(key, RoleAdmin, UpTokenName, now)
	if err != nil {
		return path, false, err
	}
	if err := replaceFile(path, []byte(tok+"\n")); err != nil {
		return path, false, fmt.Errorf("write the admin token: %w", err)
	}
	return path, true, nil
}

// createExclusive writes data to path, 0600, unless path exists
// (fs.ErrExist then).
func createExclusive(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}

// replaceFile writes data to path, 0600, replacing it whole.
func replaceFile(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeTemp writes data to a new 0600 file beside path, synced.
func writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return "", err
	}
	name := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600) // CreateTemp's 0600 is under the umask already; be explicit
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}
