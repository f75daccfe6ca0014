// Package natsauth gives every ingo process a NATS identity and confines it
// to what its role needs (DESIGN.md §8).
//
// # Why NATS' decentralised JWT auth
//
// NATS offers three ways to admit clients: users and passwords (or nkeys)
// listed in the server's configuration, an auth-callout service, and
// operator mode, where the server trusts an operator key and admits any user
// whose JWT chains up to it (user, signed by an account signing key, signed
// by the operator). We use operator mode because:
//
//   - new credentials need no change to any server: `ingo creds` signs a
//     user JWT with the account's signing key, offline, and every server of
//     an embedded or external cluster admits it at once;
//   - permissions travel inside the signed JWT, so the server enforces them
//     and no process of ours is on the admission path (an auth callout would
//     be one more service to keep alive at the deadline);
//   - the same keys serve the embedded server (`ingo up`, `ingo backend
//     --embedded-nats`, tests) and an external cluster (Config prints the
//     server configuration block);
//   - revocation and rotation are NATS' own: the account JWT lists revoked
//     users, and users are signed by a signing key that can be replaced
//     without changing the account (docs/security.md).
//
// # Roles
//
// One account holds everything an installation has (its subjects carry the
// installation's prefix, "ingo" by default). Its users have one of four
// roles, written in the JWT's tags with the name and the prefix:
//
//   - backend: the scheduler; all of the prefix's subjects, every JetStream
//     API (journal, leader lease, task bundles).
//   - agent NAME: receives on <prefix>.agent.NAME, sends only on
//     <prefix>.backend.agent.NAME, and reads task bundles.
//   - frontend NAME: receives on <prefix>.client.NAME, sends only on
//     <prefix>.backend.client.NAME, uploads task bundles and looks up their
//     metadata, but cannot read a bundle's contents.
//   - admin NAME: as a frontend, and may use any client id on
//     <prefix>.backend.admin.<id>, where the backend lets it see and kill
//     every job.
//
// A sender cannot choose the subject it publishes on beyond what its JWT
// allows, so the backend reads a sender's identity from the subject, never
// from a field or a reply subject. Replies (JetStream's answers, a request's
// response) go to inboxes under _INBOX.<role>.<NAME>, which only that user
// may subscribe to: nobody reads another's replies or bundle downloads.
//
// # Files
//
// LoadOrCreate keeps the operator, system account, account and signing
// seeds in one file of the data directory (KeysFile, 0600). Whoever has it
// can mint any identity: it is the installation's root secret.
package natsauth
