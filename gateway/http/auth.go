package api

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// principal is who sent a request, from its bearer token: an admin, or
// the frontend NAME.
type principal struct {
	role apitoken.Role
	name string
}

func (p principal) admin() bool { return p.role == apitoken.RoleAdmin }

// owner keys the jobs p submits. Tokens of one name share them (a
// frontend may hold several tokens, e.g. while it replaces one).
func (p principal) owner() string { return string(p.role) + ":" + p.name }

// canSee says whether p may see and kill a job of owner ("" for jobs the
// API did not submit in this process: the CLI's, another frontend
// library's, or its own before a restart). A frontend gets 404 for the
// others, so it cannot even learn that they exist.
func (p principal) canSee(owner string) bool { return p.admin() || (owner != "" && owner == p.owner()) }

// adminName is the principal of Options.AdminToken.
const adminName = "admin"

type principalKey struct{}

// who is the principal authenticate put in the request's context.
func who(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// authenticate reads the bearer token: Options.AdminToken (compared in
// constant time), or a token of apitoken signed with Options.TokenKey.
// The token never reaches a log or an answer.
func (s *Server) authenticate(r *http.Request) (*http.Request, error) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return r, errf(http.StatusUnauthorized, "unauthorized",
			"this route needs the header Authorization: Bearer <token>; ingo up writes an admin token to <data-dir>/api-token, and `ingo token --role frontend --name NAME` makes one for a frontend")
	}
	var p principal
	switch c, err := apitoken.Verify(s.opts.TokenKey, tok); {
	case s.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.AdminToken)) == 1:
		p = principal{role: apitoken.RoleAdmin, name: adminName}
	case err == nil:
		p = principal{role: c.Role, name: c.Name}
	default:
		s.log.Debug("API token refused", "remote", r.RemoteAddr, "err", err)
		return r, errf(http.StatusUnauthorized, "invalid_token",
			"the bearer token is not valid here: it was made for another installation (data directory), altered, or its key was replaced; get a new one with `ingo token`")
	}
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), nil
}

// crossOrigin refuses writes (POST, DELETE) sent by a browser page of
// another origin, by Sec-Fetch-Site or, from older browsers, Origin
// against Host (net/http's CrossOriginProtection). A bearer token would
// not ride along with a form post anyway, but the refusal comes first and
// says why. Clients that are not browsers send neither header.
var crossOrigin = http.NewCrossOriginProtection()

func checkOrigin(r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return errf(http.StatusForbidden, "cross_origin",
			"writes from a web page of another origin are refused ("+err.Error()+"); call the API from your server, or serve your page from the API's origin")
	}
	return nil
}

// forbidden is a 403 for what a token's role may not do.
func forbidden(msg string) *httpError { return errf(http.StatusForbidden, "forbidden", msg) }
