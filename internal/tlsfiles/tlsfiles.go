package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrExpired is the error of a certificate past its end (or before its
// start): every client would refuse it, so a server does not start with it.
var ErrExpired = errors.New("certificate is not valid now")

// ServerConfig loads a server's certificate (PEM, the leaf first, then any
// intermediates) and its key, for a listener that accepts TLS only.
func ServerConfig(certFile, keyFile string, now time.Time) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS needs both a certificate file and its key file")
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load the TLS certificate %s with its key %s: %w", certFile, keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil { // Go fills Leaf since 1.23; parse it if it did not
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("TLS certificate %s: %w", certFile, err)
		}
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("TLS certificate %s: %w (valid from %s to %s); issue a new one (ingo certs)",
			certFile, ErrExpired, leaf.NotBefore.Format(time.DateOnly), leaf.NotAfter.Format(time.DateOnly))
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// Pool reads the CA certificates (PEM) a client trusts instead of the
// system's.
func Pool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read the TLS CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("TLS CA file %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// ClientConfig is the TLS configuration of a client that trusts the CAs of
// caFile only.
func ClientConfig(caFile string) (*tls.Config, error) {
	pool, err := Pool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
