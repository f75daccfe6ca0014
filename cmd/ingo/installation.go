package main

import (
	"fmt"

	"github.com/nats-io/jwt/v2"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/messages"
)

// installation names the installation an agent's credentials belong to:
// the NATS account that signed them (one per installation, package
// natsauth) and the subject prefix. The agent labels its containers with
// it, so that the cleanup of an agent never touches those of another
// installation's agent of the same name on the same Docker host (two `ingo
// up` on one machine both name their agent after the host). The account's
// public key is no secret.
func installation(c *natsauth.Credentials) (string, error) {
	uc, err := jwt.DecodeUserClaims(c.JWT)
	if err != nil {
		return "", fmt.Errorf("agent credentials: %w", err)
	}
	account := uc.IssuerAccount
	if account == "" { // signed by the account key itself
		account = uc.Issuer
	}
	return messages.NewSubjects(c.Prefix).Prefix + "@" + account, nil
}
