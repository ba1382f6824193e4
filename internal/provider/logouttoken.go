package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// backChannelLogoutEvent is the member of the events claim that makes a JWT
// a logout token.
const backChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenMaxAge is how old (by iat) a logout token without exp may be.
const logoutTokenMaxAge = 5 * time.Minute

// LogoutToken is a verified back-channel logout token. Subject, SessionID
// or both are set.
type LogoutToken struct {
	TokenID   string    // jti
	Subject   string    // sub
	SessionID string    // sid
	NoExp     bool      // exp was missing: the token was accepted as recent
	IssuedAt  time.Time // iat
	// Expires is when the token stops being accepted: exp, or
	// logoutTokenMaxAge after iat, plus the leeway.
	Expires time.Time
}

// logoutClaims are the claims of a logout token that are checked.
type logoutClaims struct {
	Issuer    string                     `json:"iss"`
	Audience  json.RawMessage            `json:"aud"`
	IssuedAt  *float64                   `json:"iat"`
	Expiry    *float64                   `json:"exp"`
	TokenID   string                     `json:"jti"`
	Subject   string                     `json:"sub"`
	SessionID string                     `json:"sid"`
	Events    map[string]json.RawMessage `json:"events"`
	Nonce     json.RawMessage            `json:"nonce"`
}

// VerifyLogoutToken verifies raw as a logout token (OpenID Connect
// Back-Channel Logout 1.0, section 2.4): signed with v.Algorithm by a key
// of the provider's key set (an Untrusted token: refetches are rate
// limited); typ, if present, "logout+jwt" or "JWT"; iss the provider; aud
// holding the client ID; iat present and not in the future; events holding
// the back-channel logout event as an object; jti present; no nonce; sub,
// sid or both.
//
// exp, which the specification requires, may be missing, as some providers
// leave it out: such a token is accepted only within logoutTokenMaxAge of
// its iat, and reported by NoExp. Either way the leeway applies.
//
// It does not check that jti is fresh: the caller checks it against the
// tokens already used. An invalid token is an Invalid *Error with the
// message "Invalid logout token"; keys that cannot be fetched give the key
// set's error.
func (v *Verifier) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	bad := func(format string, args ...any) error {
		return invalid("Invalid logout token", fmt.Errorf(format, args...))
	}
	if err := checkUTF8(raw); err != nil {
		return nil, bad("%w", err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{v.Algorithm})
	if err != nil {
		return nil, bad("%w", err)
	}
	if len(jws.Signatures) == 1 {
		if typ, ok := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; ok && !logoutTokenType(typ) {
			return nil, bad("typ %v is neither logout+jwt nor JWT", typ)
		}
	}
	payload, err := v.Keys.Verify(ctx, jws, Untrusted)
	if k := KindOf(err); k != 0 && k != Invalid {
		return nil, err
	}
	if err != nil {
		return nil, bad("%w", err)
	}
	var claims logoutClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, bad("claims: %w", err)
	}
	if claims.Issuer != v.Issuer {
		return nil, bad("issuer %q, want %q", claims.Issuer, v.Issuer)
	}
	if !audienceHas(claims.Audience, v.ClientID) {
		return nil, bad("audience %s does not hold the client ID", claims.Audience)
	}
	now, skew := v.now(), v.Leeway
	if claims.IssuedAt == nil {
		return nil, bad("iat is missing")
	}
	iat := time.Unix(int64(*claims.IssuedAt), 0)
	if iat.After(now.Add(skew)) {
		return nil, bad("iat %v is in the future", iat)
	}
	expires := iat.Add(logoutTokenMaxAge + skew)
	if claims.Expiry != nil {
		exp := time.Unix(int64(*claims.Expiry), 0)
		if now.After(exp.Add(skew)) {
			return nil, bad("expired at %v", exp)
		}
		expires = exp.Add(skew)
	} else if now.After(expires) {
		return nil, bad("no exp, and iat %v is more than %v ago", iat, logoutTokenMaxAge)
	}
	if claims.TokenID == "" {
		return nil, bad("jti is missing")
	}
	if event, ok := claims.Events[backChannelLogoutEvent]; !ok || !bytes.HasPrefix(bytes.TrimSpace(event), []byte("{")) {
		return nil, bad("events does not hold the back-channel logout event as an object")
	}
	if claims.Nonce != nil {
		return nil, bad("nonce is present")
	}
	if claims.Subject == "" && claims.SessionID == "" {
		return nil, bad("neither sub nor sid is present")
	}
	return &LogoutToken{TokenID: claims.TokenID, Subject: claims.Subject, SessionID: claims.SessionID, NoExp: claims.Expiry == nil, IssuedAt: iat, Expires: expires}, nil
}

// logoutTokenType reports whether a typ header value is one a logout token
// may carry: logout+jwt, as the specification recommends, or the generic
// JWT. Media types compare case-insensitively and may carry "application/".
func logoutTokenType(typ any) bool {
	s, ok := typ.(string)
	if !ok {
		return false
	}
	s = strings.TrimPrefix(strings.ToLower(s), "application/")
	return s == "logout+jwt" || s == "jwt"
}

// audienceHas reports whether the aud claim, a string or an array of
// strings, holds clientID.
func audienceHas(aud json.RawMessage, clientID string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == clientID
	}
	var many []string
	return json.Unmarshal(aud, &many) == nil && slices.Contains(many, clientID)
}
