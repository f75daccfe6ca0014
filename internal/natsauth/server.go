package natsauth

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
)

// AccountName and SystemAccountName name the accounts in their JWTs.
const (
	AccountName       = "INGO"
	SystemAccountName = "SYS"
)

// jwts are the operator's and the two accounts' JWTs: the operator's as
// first issued (Keys.operatorJWT), the accounts' made afresh from the
// keys (they hold nothing else but the revocations).
type jwts struct{ operator, system, account string }

func (k *Keys) jwts() (jwts, error) {
	var out jwts
	var err error
	if out.operator, err = k.operatorToken(); err != nil {
		return out, err
	}
	sys := jwt.NewAccountClaims(pub(k.system))
	sys.Name = SystemAccountName
	if out.system, err = sys.Encode(k.operator); err != nil {
		return out, fmt.Errorf("natsauth: system account JWT: %w", err)
	}
	acc := jwt.NewAccountClaims(pub(k.account))
	acc.Name = AccountName
	acc.SigningKeys.Add(pub(k.signing))
	// JetStream is on for the account, bounded only by the servers'
	// own limits (max_file_store, max_memory_store).
	acc.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1,
		MaxAckPending: -1, MemoryMaxStreamBytes: -1, DiskMaxStreamBytes: -1}
	for p, at := range k.revoked {
		if acc.Revocations == nil {
			acc.Revocations = jwt.RevocationList{}
		}
		acc.Revocations[p] = at
	}
	if out.account, err = acc.Encode(k.operator); err != nil {
		return out, fmt.Errorf("natsauth: account JWT: %w", err)
	}
	return out, nil
}

// operatorToken is the operator's JWT: the one kept with the keys when it
// is theirs, else a new one, kept from now on (Save writes it).
func (k *Keys) operatorToken() (string, error) {
	k.opMu.Lock()
	defer k.opMu.Unlock()
	if k.operatorJWT != "" {
		op, err := jwt.DecodeOperatorClaims(k.operatorJWT)
		if err == nil && op.Subject == pub(k.operator) && op.Issuer == pub(k.operator) && op.SystemAccount == pub(k.system) {
			return k.operatorJWT, nil
		}
	}
	op := jwt.NewOperatorClaims(pub(k.operator))
	op.Name = "ingo"
	op.SystemAccount = pub(k.system)
	token, err := op.Encode(k.operator)
	if err != nil {
		return "", fmt.Errorf("natsauth: operator JWT: %w", err)
	}
	k.operatorJWT = token
	return token, nil
}

// Configure makes o an operator-mode server that admits only users of
// these keys: no anonymous client, and each user held to its JWT's
// permissions.
func (k *Keys) Configure(o *server.Options) error {
	j, err := k.jwts()
	if err != nil {
		return err
	}
	op, err := jwt.DecodeOperatorClaims(j.operator)
	if err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	res := &server.MemAccResolver{}
	if err := res.Store(pub(k.system), j.system); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	if err := res.Store(pub(k.account), j.account); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	o.TrustedOperators = []*jwt.OperatorClaims{op}
	o.AccountResolver = res
	o.SystemAccount = pub(k.system)
	return nil
}

// ServerConfig is the block of nats-server configuration that makes an
// external server (or each node of a cluster) trust these keys, as the
// embedded server does: paste it into every node's file (configs/nats/).
// It holds public JWTs only, no seed.
func (k *Keys) ServerConfig() (string, error) {
	j, err := k.jwts()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# ingo's NATS identities (ingo creds --nats-config): public keys and JWTs only.\n")
	fmt.Fprintf(&b, "operator: %s\n", j.operator)
	fmt.Fprintf(&b, "system_account: %s\n", pub(k.system))
	fmt.Fprintf(&b, "resolver: MEMORY\n")
	fmt.Fprintf(&b, "resolver_preload: {\n  # %s\n  %s: %s\n  # %s\n  %s: %s\n}\n",
		SystemAccountName, pub(k.system), j.system, AccountName, pub(k.account), j.account)
	return b.String(), nil
}

// AdoptOperatorJWT keeps token, the operator JWT of a block written
// before the keys kept theirs (an earlier version's nats-auth.conf, which
// the servers run with), when the keys keep none yet: the next block then
// names it, and the servers reload it. A token that is not these keys'
// operator's is ignored when the block is made.
func (k *Keys) AdoptOperatorJWT(token string) {
	k.opMu.Lock()
	defer k.opMu.Unlock()
	if k.operatorJWT == "" {
		k.operatorJWT = token
	}
}

// ApplyTo gives s, a running server that started with the keys started
// (Configure), the account JWT of these keys, the same keys as they are
// now: a user revoked since (Revoke, by another process writing the keys
// file) is refused from now on, and its connections are closed at once.
// A revocation of every credential (RevokeAll) is started's, not these
// keys': the components of s's own process hold credentials issued before
// it, and would be cut off for good, so a new one waits for the next start
// (deferred). An error says that s does not know these keys' account (the
// keys were replaced: only a restart takes that).
func (k *Keys) ApplyTo(s *server.Server, started *Keys) (deferred bool, err error) {
	live := &Keys{operator: k.operator, system: k.system, account: k.account, signing: k.signing,
		operatorJWT: k.KeptOperatorJWT()}
	live.revoked = maps.Clone(k.revoked)
	delete(live.revoked, jwt.All)
	if at, ok := started.revoked[jwt.All]; ok {
		live.revoked[jwt.All] = at
	}
	deferred = k.revoked[jwt.All] != started.revoked[jwt.All]
	j, err := live.jwts()
	if err != nil {
		return deferred, err
	}
	claims, err := jwt.DecodeAccountClaims(j.account)
	if err != nil {
		return deferred, fmt.Errorf("natsauth: %w", err)
	}
	if pub(k.account) != pub(started.account) {
		return deferred, errors.New("natsauth: the keys were replaced (another account): only a restart of the server takes them")
	}
	acc, err := s.LookupAccount(pub(k.account))
	if err != nil {
		return deferred, fmt.Errorf("natsauth: the running server does not know the keys' account: %w", err)
	}
	if res := s.AccountResolver(); res != nil {
		if err := res.Store(pub(k.account), j.account); err != nil {
			return deferred, fmt.Errorf("natsauth: %w", err)
		}
	}
	s.UpdateAccountClaims(acc, claims)
	return deferred, nil
}

// RevokedCount is how many users the keys revoke, one by one.
func (k *Keys) RevokedCount() int {
	n := len(k.revoked)
	if _, all := k.revoked[jwt.All]; all {
		n--
	}
	return n
}
