package tlsfiles

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Files of a data directory.
const (
	CAFile    = "tls-ca.pem" // give it to every client (nats.tls-ca)
	CAKeyFile = "tls-ca.key" // signs server certificates; stays here
	// The cluster's CA signs nodes' route certificates and nothing else:
	// a route trusts only it (ca_file of configs/nats' cluster blocks).
	ClusterCAFile    = "tls-cluster-ca.pem"
	ClusterCAKeyFile = "tls-cluster-ca.key"
)

// Validity of what Issue makes. A server certificate lasts about two years
// (under the 825 days browsers accept for the HTTP API); the CA ten, so
// that renewing a server's certificate needs no new file on the clients.
const (
	CALifetime     = 10 * 365 * 24 * time.Hour
	ServerLifetime = 800 * 24 * time.Hour
)

// Use says whom a certificate identifies.
type Use int

const (
	// Server is a server's certificate (NATS' client port, the HTTP
	// API), signed by the CA of CAFile, as tls-NAME.pem.
	Server Use = iota
	// ClusterNode is a NATS cluster node's route certificate, signed by
	// the cluster's own CA (ClusterCAFile), as tls-cluster-NAME.pem: the
	// node shows it on both ends of its routes, which carry every
	// account's messages past every permission. A CA of its own, because
	// a node that dials a route checks only that the other end's
	// certificate chains to its ca_file and names the host it dialled:
	// with one CA for everything, the HTTP API's certificate on a node's
	// host, or on an address taken from a node, would pass for that node.
	ClusterNode
)

// kind is what a Use's certificates are made of and called.
type kind struct {
	caCert, caKey string // the CA's files
	caName        string // the CA's common name, before the host's
	holders       string // who has a copy of the CA's certificate
	prefix        string // of the certificates' files
	usages        []x509.ExtKeyUsage
}

var kinds = map[Use]kind{
	Server: {caCert: CAFile, caKey: CAKeyFile, caName: "ingo CA ", holders: "client", prefix: "tls-",
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
	// A route's two ends are a client and a server.
	ClusterNode: {caCert: ClusterCAFile, caKey: ClusterCAKeyFile, caName: "ingo cluster CA ", holders: "node", prefix: "tls-cluster-",
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
}

// ErrExists refuses to overwrite a certificate or key: clients may trust
// it, and a server may be using it.
var ErrExists = errors.New("already exists")

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// Issued says where Issue wrote what.
type Issued struct {
	CA, Cert, Key string
	CAMade        bool // the CA was made now, not found
	Hosts         []string
	NotAfter      time.Time
}

// Issue signs a certificate of use for hosts (DNS names or IP addresses;
// at least one) with use's CA in dir, which it makes first if dir has
// none. It writes the certificate and its key (0600), tls-NAME.pem and
// tls-NAME.key (tls-cluster-NAME.* for ClusterNode), and refuses to
// overwrite them.
func Issue(dir, name string, hosts []string, use Use, now time.Time) (Issued, error) {
	if !namePattern.MatchString(name) {
		return Issued{}, fmt.Errorf("certificate name %q: letters, digits, '.', '_' and '-' only", name)
	}
	if name == "ca" || name == "cluster-ca" {
		return Issued{}, fmt.Errorf("certificate name %q is a CA's own", name)
	}
	k, ok := kinds[use]
	if !ok {
		return Issued{}, fmt.Errorf("certificate use %d unknown", use)
	}
	if use == Server && strings.HasPrefix(name, "cluster-") {
		return Issued{}, fmt.Errorf("certificate name %q: the files of cluster-... names are nodes' route certificates", name)
	}
	tmpl, err := serverTemplate(hosts, now)
	if err != nil {
		return Issued{}, err
	}
	tmpl.ExtKeyUsage = k.usages
	out := Issued{
		CA:    filepath.Join(dir, k.caCert),
		Cert:  filepath.Join(dir, k.prefix+name+".pem"),
		Key:   filepath.Join(dir, k.prefix+name+".key"),
		Hosts: hosts,
	}
	for _, f := range []string{out.Cert, out.Key} {
		if _, err := os.Stat(f); err == nil {
			return Issued{}, fmt.Errorf("%s %w: remove it first to issue a new one, or choose another name", f, ErrExists)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Issued{}, fmt.Errorf("create %s: %w", dir, err)
	}
	ca, signer, made, err := loadOrMakeCA(out.CA, filepath.Join(dir, k.caKey), k, now)
	if err != nil {
		return Issued{}, err
	}
	out.CAMade = made
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, fmt.Errorf("server key: %w", err)
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, signer)
	if err != nil {
		return Issued{}, fmt.Errorf("sign the server certificate: %w", err)
	}
	out.NotAfter = tmpl.NotAfter
	if err := writeKey(out.Key, key); err != nil {
		return Issued{}, err
	}
	if err := writeNew(out.Cert, pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return Issued{}, err
	}
	return out, nil
}

// serverTemplate is a server certificate's for hosts.
func serverTemplate(hosts []string, now time.Time) (*x509.Certificate, error) {
	if len(hosts) == 0 {
		return nil, errors.New("name at least one host (DNS name or IP address) the clients connect to")
	}
	for i, h := range hosts {
		hosts[i] = strings.TrimSpace(h)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour), // clocks of the clients may be a little behind
		NotAfter:     now.Add(ServerLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	// The same machine's tools (the CLI, ingo api) reach the server by
	// the loopback address: a certificate that covers it needs no other.
	for _, h := range append(hosts, loopbackHosts...) {
		if ip := net.ParseIP(h); ip != nil {
			if slices.ContainsFunc(t.IPAddresses, ip.Equal) {
				continue
			}
			t.IPAddresses = append(t.IPAddresses, ip)
			continue
		}
		if !validDNSName(h) {
			return nil, fmt.Errorf("host %q is neither an IP address nor a DNS name (a wildcard needs two labels under it: *.grading.example.org)", h)
		}
		if !slices.Contains(t.DNSNames, h) {
			t.DNSNames = append(t.DNSNames, h)
		}
	}
	return t, nil
}

// loopbackHosts are in every server certificate.
var loopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

var dnsLabel = regexp.MustCompile(`^(\*|[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)$`)

func validDNSName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if !dnsLabel.MatchString(l) || (l == "*" && i > 0) {
			return false
		}
	}
	// "*" or "*.org" would stand for every host or a whole domain.
	return labels[0] != "*" || len(labels) >= 3
}

// loadOrMakeCA reads a CA, or makes one (for k's certificates) when
// neither of its files exists. One file without the other is an error: a
// CA whose key is lost cannot sign, and a key alone is no CA the clients
// have.
func loadOrMakeCA(certPath, keyPath string, k kind, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, bool, error) {
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		ca, key, err := makeCA(certPath, keyPath, k, now)
		return ca, key, true, err
	case certErr != nil:
		return nil, nil, false, fmt.Errorf("read the CA certificate: %w", certErr)
	case keyErr != nil:
		return nil, nil, false, fmt.Errorf("read the CA key (it signs new certificates): %w", keyErr)
	}
	ca, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", certPath, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !key.PublicKey.Equal(ca.PublicKey) {
		return nil, nil, false, fmt.Errorf("%s is not the key of %s", keyPath, certPath)
	}
	if now.After(ca.NotAfter) {
		return nil, nil, false, fmt.Errorf("the CA %s expired on %s: move it and %s away to make a new one, then give the new one to every %s",
			certPath, ca.NotAfter.Format(time.DateOnly), filepath.Base(keyPath), k.holders)
	}
	return ca, key, false, nil
}

func makeCA(certPath, keyPath string, k kind, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: k.caName + host, Organization: []string{"ingo"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, t, t, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("make the CA: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writeNew(certPath, pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func parseCert(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key, not the ECDSA key ingo makes", k)
	}
	return ek, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeNew(path, pemBlock("PRIVATE KEY", der), 0o600)
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

// writeNew creates path with mode and data, never over an existing file.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s %w", path, ErrExists)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
