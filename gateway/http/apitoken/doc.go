// Package apitoken makes and checks the bearer tokens of the HTTP API
// (DESIGN.md §7).
//
// A token verifies itself, so that `ingo token`, `ingo api` and `ingo up`
// need no database to agree on it:
//
//	ingo_<base64url(payload)>.<base64url(HMAC-SHA256(key, "ingo_" + base64url(payload)))>
//
// The payload is JSON: the role (frontend or admin), the name, when it was
// issued and a random id, so that two tokens for one name differ. The key
// is 32 random bytes kept in KeyFile under the data directory (0600),
// created by whichever command needs it first. Whoever reads that file can
// mint any token: it is the HTTP API's root secret. Deleting it (and
// restarting ingo up or ingo api) revokes every token made from it at once;
// there is no finer revocation.
package apitoken
