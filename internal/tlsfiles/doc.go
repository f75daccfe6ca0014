// Package tlsfiles makes and loads the TLS certificates that keep ingo's
// traffic unreadable on a network it does not own: the NATS server's (job
// inputs, task bundles with their hidden tests, results) and the HTTP
// API's (bearer tokens, students' files).
//
// Credentials (package natsauth) already keep anyone from forging a
// message; TLS keeps anyone on the path from reading one, or from
// stripping the encryption: a client given a CA file (nats.tls-ca) refuses
// a server that does not prove a certificate of that CA, so a machine in
// the middle can neither read nor downgrade the connection.
//
// Issue makes a private CA on first use (tls-ca.pem, and its key
// tls-ca.key, which never leaves the machine that issues) and signs
// server certificates with it, so that a course's installation needs no
// public certificate authority. Certificates from any other CA work the
// same way: the settings name files, not this package's.
package tlsfiles
