package backend

import (
	"net/http"
	"strings"
)

// Authorization schemes.
const (
	schemeBearer = "Bearer" // RFC 6750
	schemeDPoP   = "DPoP"   // RFC 9449
)

// credentials are the access token of a request and how it was sent.
type credentials struct {
	token  string
	scheme string // schemeBearer or schemeDPoP
	// token68Deferred is set for a Bearer token of three parts from the
	// request, whose check as a token68 parseAuthorization leaves to
	// tokenGrant.
	token68Deferred bool
}

// parseAuthorization parses the Authorization header values of a request
// (RFC 6750 section 2.1, RFC 9449 section 7.1): no header, or a header of
// another scheme, is no token (ok false, err nil); a Bearer or DPoP header
// (scheme matched in any case) must hold exactly one token68 of at most
// maxLen characters. Two headers, or a token that is not one token68, are
// ErrInvalidRequest.
//
// A Bearer token of three parts (a JWT) is not read here: tokenGrant
// checks it as a token68 only if its claims are not cached and it does
// not parse as a JWS, as one that parses is a token68 (its parts are
// base64url). The answers are those of a check here, as nothing a Bearer
// token meets before tokenGrant answers a request (but a query token
// beside it: extract checks the header's then), and a JWT, a kilobyte or
// so, is checked once, as base64url on its first validation, rather than
// also as a token68 on every request. A DPoP token meets its proof first,
// and is checked here.
func parseAuthorization(values []string, maxLen int) (cred credentials, ok bool, err *Error) {
	switch len(values) {
	case 0:
		return credentials{}, false, nil
	case 1:
	default:
		return credentials{}, false, refuse(ErrInvalidRequest, "several_authorization_headers", nil)
	}
	v := strings.Trim(values[0], " \t")
	i := strings.IndexAny(v, " \t")
	if i < 0 {
		i = len(v)
	}
	switch scheme := v[:i]; {
	case strings.EqualFold(scheme, schemeBearer):
		cred.scheme = schemeBearer
	case strings.EqualFold(scheme, schemeDPoP):
		cred.scheme = schemeDPoP
	default:
		return credentials{}, false, nil
	}
	token := strings.TrimLeft(v[i:], " \t")
	switch {
	case token == "":
		return credentials{}, false, &Error{Code: ErrInvalidRequest, Reason: "empty_token", Scheme: cred.scheme}
	case len(token) > maxLen:
		return credentials{}, false, &Error{Code: ErrInvalidToken, Reason: "token_too_long", Scheme: cred.scheme}
	case cred.scheme == schemeBearer && isJWT(token):
		cred.token68Deferred = true
	case !isToken68(token):
		return credentials{}, false, malformedToken(cred.scheme)
	}
	cred.token = token
	return cred, true, nil
}

// malformedToken is the refusal of a token that is not a token68.
func malformedToken(scheme string) *Error {
	return &Error{Code: ErrInvalidRequest, Reason: "malformed_token", Scheme: scheme}
}

// token68Chars is 1 for the characters of a token68 before its padding,
// 0 for the others.
var token68Chars = func() (t [256]uint8) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/") {
		t[c] = 1
	}
	return t
}()

// isToken68 reports whether s is a token68 (RFC 9110 section 11.2):
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
//
// It runs over the whole token, a kilobyte or so, on every request but
// those with a Bearer JWT (see parseAuthorization): the characters are
// looked up eight at a time and their marks ANDed, without a branch per
// character, which is about twice as fast as stopping at the first
// character that is not in the table.
func isToken68(s string) bool {
	s = strings.TrimRight(s, "=")
	if s == "" {
		return false
	}
	ok := uint8(1)
	for ; len(s) >= 8; s = s[8:] {
		ok &= token68Chars[s[0]] & token68Chars[s[1]] & token68Chars[s[2]] & token68Chars[s[3]] &
			token68Chars[s[4]] & token68Chars[s[5]] & token68Chars[s[6]] & token68Chars[s[7]]
	}
	for i := range len(s) {
		ok &= token68Chars[s[i]]
	}
	return ok == 1
}

// extract returns the access token of r: from Options.TokenExtractor if it
// returns one, else from the Authorization header, and from the
// access_token query parameter only if Options.AllowQueryToken (never
// together with a header: RFC 6750 section 2).
func (c *Client) extract(r *http.Request) (credentials, *Error) {
	if c.cfg.extractor != nil {
		token, err := c.cfg.extractor(r)
		if err != nil {
			return credentials{}, &Error{Code: ErrInvalidToken, Reason: "extractor_failed", Scheme: schemeBearer, Err: err}
		}
		if token = strings.TrimSpace(token); token != "" {
			if len(token) > c.cfg.maxTokenLength {
				return credentials{}, &Error{Code: ErrInvalidToken, Reason: "token_too_long", Scheme: schemeBearer}
			}
			return credentials{token: token, scheme: schemeBearer}, nil
		}
	}
	// Indexed with its canonical name: Header.Values would check that
	// name's spelling again on every request.
	cred, ok, err := parseAuthorization(r.Header["Authorization"], c.cfg.maxTokenLength)
	if err != nil {
		return credentials{}, err
	}
	if c.cfg.allowQuery {
		if q := r.URL.Query()["access_token"]; len(q) > 0 {
			if ok && cred.token68Deferred && !isToken68(cred.token) {
				return credentials{}, malformedToken(cred.scheme) // as if checked by parseAuthorization
			}
			if ok || len(q) > 1 {
				return credentials{}, refuse(ErrInvalidRequest, "several_tokens", nil)
			}
			cred, ok, err = parseAuthorization([]string{"Bearer " + q[0]}, c.cfg.maxTokenLength)
			if err != nil {
				return credentials{}, err
			}
		}
	}
	if !ok {
		return credentials{}, refuse(ErrNoToken, "no_token", nil)
	}
	if cred.scheme == schemeDPoP && c.cfg.dpop == DPoPDisabled {
		return credentials{}, refuse(ErrNoToken, "dpop_disabled", nil)
	}
	return cred, nil
}
