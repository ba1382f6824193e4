package monocloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// backChannelLogout verifies a logout token (OpenID Connect Back-Channel
// Logout 1.0), revokes the matching sessions (on every instance, and
// deleting them from the store, with a Coordinator) and calls
// OnBackChannelLogout. Invalid tokens get 400, as the specification asks;
// a Coordinator that fails gets 503, so that the provider may retry. Errors
// are answered as JSON: see failLogout.
func (c *Client) backChannelLogout(w http.ResponseWriter, r *http.Request) {
	if !c.startAuthRoute(w, r, http.MethodPost) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	token := r.PostFormValue("logout_token")
	if token == "" {
		c.failLogout(w, r, &ValidationError{Message: "Missing Logout Token"})
		return
	}
	p, err := c.provider(r.Context())
	if err != nil {
		c.failLogout(w, r, err)
		return
	}
	lt, err := c.verifyLogoutToken(r.Context(), p, token)
	if err != nil {
		c.failLogout(w, r, err)
		return
	}
	// Marked used before anything else, so that two copies arriving at once
	// are not both served, here or at another instance.
	release, err := c.useLogoutToken(r.Context(), lt)
	if err != nil {
		c.failLogout(w, r, err)
		return
	}
	// Dated by the token, not its receipt: a replay, or a retry, ends no
	// session started after the logout.
	at := lt.IssuedAt
	if now := c.now(); now.Before(at) { // iat within the skew ahead
		at = now
	}
	c.ended.add(lt.Subject, lt.SessionID, at)
	rv := EndedSession{SID: lt.SessionID, Sub: lt.Subject, At: at}
	if err := c.endSession(r.Context(), rv); err != nil {
		release() // the provider may retry
		c.failLogout(w, r, err)
		return
	}
	if hook := c.cfg.opts.OnBackChannelLogout; hook != nil {
		if err := hook(r.Context(), lt.Subject, lt.SessionID); err != nil {
			release() // the provider may retry
			c.failLogout(w, r, err)
			return
		}
	}
	outcome := OutcomeOK
	if lt.NoExp {
		outcome = OutcomeNoExp
	}
	c.emit(r.Context(), Event{Kind: EventBackChannelLogout, Outcome: outcome})
	w.WriteHeader(http.StatusOK)
}

// useLogoutToken marks logout token lt used, in this process and with the
// Coordinator, if any, until it expires. A token already used gives a
// *TokenError; a Coordinator that fails, a *StoreError. release forgets the
// use, for a token whose logout failed.
func (c *Client) useLogoutToken(ctx context.Context, lt *logoutToken) (release func(), err error) {
	used := &TokenError{Code: CodeInvalidToken, Message: "Invalid logout token: already used"}
	if !c.logoutJTIs.Add(lt.TokenID, struct{}{}, c.now()) {
		return nil, used
	}
	co := c.cfg.coordinator
	if co == nil {
		return func() { c.logoutJTIs.Delete(lt.TokenID) }, nil
	}
	id := "logout:" + lt.TokenID
	first, err := co.UseTokenID(ctx, id, lt.Expires)
	if err != nil || !first {
		c.logoutJTIs.Delete(lt.TokenID)
		if err != nil {
			return nil, storeError("recording the logout token with the coordinator", err)
		}
		return nil, used
	}
	return func() {
		c.logoutJTIs.Delete(lt.TokenID)
		// Without the request's context: the release must outlive its
		// cancellation.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.responseTimeout)
		defer cancel()
		if err := co.ReleaseTokenID(ctx, id); err != nil {
			c.emit(ctx, Event{Kind: EventStoreError, Op: "releasing a logout token with the coordinator", Err: err})
		}
	}, nil
}

// backChannelLogoutEvent is the member of the events claim that makes a JWT
// a logout token.
const backChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenMaxAge is how old (by iat) a logout token without exp may be.
const logoutTokenMaxAge = 5 * time.Minute

// logoutToken is a verified back-channel logout token. Subject, SessionID
// or both are set.
type logoutToken struct {
	TokenID   string    // jti
	Subject   string    // sub
	SessionID string    // sid
	NoExp     bool      // exp was missing: the token was accepted as recent
	IssuedAt  time.Time // iat
	// Expires is when the token stops being accepted: exp, or
	// logoutTokenMaxAge after iat, plus the clock skew.
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

// verifyLogoutToken verifies raw as a logout token (OpenID Connect
// Back-Channel Logout 1.0, section 2.4): signed with the configured ID token
// algorithm by a key of the provider's JWKS; typ, if present, "logout+jwt"
// or "JWT"; iss the provider; aud holding the client ID; iat present and not
// in the future; events holding the back-channel logout event as an object;
// jti present; no nonce; sub, sid or both.
//
// exp, which the specification requires, may be missing, as some providers
// leave it out: such a token is accepted only within logoutTokenMaxAge of
// its iat, and reported by NoExp. Either way the clock skew applies.
//
// It does not check that jti is fresh: the caller checks it against the
// tokens already used. Invalid tokens give a *TokenError; a JWKS that cannot
// be fetched gives an error matching ErrProviderUnavailable.
func (c *Client) verifyLogoutToken(ctx context.Context, p *provider, raw string) (*logoutToken, error) {
	invalid := func(format string, args ...any) error {
		return &TokenError{Code: CodeInvalidToken, Message: "Invalid logout token", Err: fmt.Errorf(format, args...)}
	}
	if err := checkUTF8(raw); err != nil {
		return nil, invalid("%w", err)
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{p.keys.alg})
	if err != nil {
		return nil, invalid("%w", err)
	}
	if len(jws.Signatures) == 1 {
		if typ, ok := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; ok && !logoutTokenType(typ) {
			return nil, invalid("typ %v is neither logout+jwt nor JWT", typ)
		}
	}
	payload, err := p.keys.verify(ctx, jws, fromAnyone)
	if errors.Is(err, ErrProviderUnavailable) {
		return nil, err
	}
	if err != nil {
		return nil, invalid("%w", err)
	}
	var claims logoutClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, invalid("claims: %w", err)
	}
	if claims.Issuer != p.issuer {
		return nil, invalid("issuer %q, want %q", claims.Issuer, p.issuer)
	}
	if !audienceHas(claims.Audience, c.cfg.clientID) {
		return nil, invalid("audience %s does not hold the client ID", claims.Audience)
	}
	now, skew := c.tokenNow(), c.cfg.clockTolerance
	if claims.IssuedAt == nil {
		return nil, invalid("iat is missing")
	}
	iat := time.Unix(int64(*claims.IssuedAt), 0)
	if iat.After(now.Add(skew)) {
		return nil, invalid("iat %v is in the future", iat)
	}
	expires := iat.Add(logoutTokenMaxAge + skew)
	if claims.Expiry != nil {
		exp := time.Unix(int64(*claims.Expiry), 0)
		if now.After(exp.Add(skew)) {
			return nil, invalid("expired at %v", exp)
		}
		expires = exp.Add(skew)
	} else if now.After(expires) {
		return nil, invalid("no exp, and iat %v is more than %v ago", iat, logoutTokenMaxAge)
	}
	if claims.TokenID == "" {
		return nil, invalid("jti is missing")
	}
	if event, ok := claims.Events[backChannelLogoutEvent]; !ok || !bytes.HasPrefix(bytes.TrimSpace(event), []byte("{")) {
		return nil, invalid("events does not hold the back-channel logout event as an object")
	}
	if claims.Nonce != nil {
		return nil, invalid("nonce is present")
	}
	if claims.Subject == "" && claims.SessionID == "" {
		return nil, invalid("neither sub nor sid is present")
	}
	return &logoutToken{TokenID: claims.TokenID, Subject: claims.Subject, SessionID: claims.SessionID, NoExp: claims.Expiry == nil, IssuedAt: iat, Expires: expires}, nil
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
