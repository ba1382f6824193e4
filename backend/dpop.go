package backend

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DPoPMode is how DPoP-bound access tokens (RFC 9449) are handled.
type DPoPMode string

const (
	// DPoPAllowed accepts bearer tokens, and DPoP-bound tokens (cnf.jkt)
	// with the DPoP scheme and a valid proof; a DPoP-bound token sent as
	// Bearer is refused.
	DPoPAllowed DPoPMode = "allowed"
	// DPoPRequired accepts only DPoP-bound tokens with a valid proof.
	DPoPRequired DPoPMode = "required"
	// DPoPDisabled ignores DPoP: the DPoP scheme is not read, and a
	// DPoP-bound token is accepted as a bearer token, as MonoCloud's SDK
	// does.
	DPoPDisabled DPoPMode = "disabled"
)

// reasonDPoPBoundAsBearer is the refusal reason of a DPoP-bound token
// sent with the Bearer scheme.
const reasonDPoPBoundAsBearer = "dpop_bound_token_as_bearer"

// maxProofLength bounds the DPoP header read.
const maxProofLength = 8192

// dpopProof is a DPoP proof whose signature verified with its own key
// (RFC 9449 section 4.2).
type dpopProof struct {
	jkt   string // RFC 7638 thumbprint of the proof's key, base64url
	jti   string
	htm   string
	htu   string
	iat   time.Time
	ath   string
	nonce string
}

var errProof = errors.New("invalid DPoP proof")

// parseProof parses a DPoP proof and verifies its signature with the key
// in its header (RFC 9449 section 4.3, checks 2 to 7): a JWS of one of
// algs, typ dpop+jwt, a public jwk that verifies it, and the jti, htm, htu
// and iat claims.
func parseProof(proof string, algs []jose.SignatureAlgorithm) (*dpopProof, error) {
	if len(proof) > maxProofLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", errProof, maxProofLength)
	}
	jws, err := jose.ParseSignedCompact(proof, algs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errProof, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: not one signature", errProof)
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return nil, fmt.Errorf("%w: typ is not dpop+jwt", errProof)
	}
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, fmt.Errorf("%w: crit header", errProof)
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return nil, fmt.Errorf("%w: no public jwk header", errProof)
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errProof, err)
	}
	var claims struct {
		JTI   string   `json:"jti"`
		HTM   string   `json:"htm"`
		HTU   string   `json:"htu"`
		IAT   *float64 `json:"iat"`
		ATH   string   `json:"ath"`
		Nonce string   `json:"nonce"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("%w: payload: %w", errProof, err)
	}
	if claims.JTI == "" || claims.HTM == "" || claims.HTU == "" || claims.IAT == nil {
		return nil, fmt.Errorf("%w: jti, htm, htu and iat are required", errProof)
	}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errProof, err)
	}
	sec := int64(*claims.IAT)
	return &dpopProof{
		jkt:   base64.RawURLEncoding.EncodeToString(thumb),
		jti:   claims.JTI,
		htm:   claims.HTM,
		htu:   claims.HTU,
		iat:   time.Unix(sec, 0),
		ath:   claims.ATH,
		nonce: claims.Nonce,
	}, nil
}

// checkDPoP applies the DPoP rules (RFC 9449 section 7.1) to a token with
// grant g, sent with cred's scheme and, for the DPoP scheme, proof (already
// checked against the request by readProof): a DPoP-bound token needs the
// DPoP scheme and a proof by its key; the DPoP scheme needs a DPoP-bound
// token. A cnf that cannot be read refuses the token in every mode, so
// that it cannot pass for unbound. Only then, the token being valid and
// bound to the proof's key, is the proof's jti recorded: a request
// without a valid token cannot fill the replay store.
func (c *Client) checkDPoP(ctx context.Context, cred credentials, g *grant, proof *dpopProof) *Error {
	if g.dpop.malformed {
		return refuse(ErrInvalidToken, "cnf_malformed", nil)
	}
	jkt := g.dpop.thumbprint
	if c.cfg.dpop == DPoPDisabled {
		return nil
	}
	if cred.scheme != schemeDPoP {
		switch {
		case jkt != "":
			return &Error{Code: ErrInvalidToken, Reason: reasonDPoPBoundAsBearer, Scheme: schemeBearer}
		case c.cfg.dpop == DPoPRequired:
			return &Error{Code: ErrInvalidToken, Reason: "dpop_required", Scheme: schemeBearer}
		}
		return nil
	}
	if jkt == "" {
		return &Error{Code: ErrInvalidToken, Reason: "not_dpop_bound", Scheme: schemeDPoP}
	}
	if subtle.ConstantTimeCompare([]byte(jkt), []byte(proof.jkt)) != 1 {
		return &Error{Code: ErrInvalidToken, Reason: "jkt_mismatch", Scheme: schemeDPoP}
	}
	return c.rememberProof(ctx, proof)
}

// readProof parses the request's DPoP proof and checks it against the
// request and the token (RFC 9449 section 4.3, checks 1 and 8 to 11):
// one DPoP header, htm, htu, iat, ath and the nonce. These checks write
// nothing; checkDPoP records the jti once the token is known.
func (c *Client) readProof(r *http.Request, token string) (*dpopProof, *Error) {
	values := r.Header.Values("DPoP")
	switch {
	case len(values) == 0:
		return nil, badProof("proof_missing", nil)
	case len(values) > 1:
		return nil, badProof("several_proofs", nil)
	}
	p, err := parseProof(values[0], c.cfg.algs)
	if err != nil {
		return nil, badProof("proof_malformed", err)
	}
	if p.htm != r.Method {
		return nil, badProof("htm", nil)
	}
	if want, ok := normalizeURL(p.htu); !ok || want != c.requestURL(r) {
		return nil, badProof("htu", nil)
	}
	now := c.now().Add(c.cfg.clockSkew)
	if p.iat.Before(now.Add(-c.cfg.dpopLifetime-c.cfg.clockTolerance)) || p.iat.After(now.Add(c.cfg.clockTolerance)) {
		return nil, badProof("iat", nil)
	}
	ath := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare([]byte(p.ath), []byte(base64.RawURLEncoding.EncodeToString(ath[:]))) != 1 {
		return nil, badProof("ath", nil)
	}
	if c.cfg.nonces != nil && (p.nonce == "" || !c.cfg.nonces.Valid(p.nonce)) {
		return nil, &Error{Code: ErrUseDPoPNonce, Reason: "nonce", Scheme: schemeDPoP}
	}
	return p, nil
}

// rememberProof records p's jti, with its key, in the replay store until
// no clock within the tolerance accepts p's iat, and refuses p if it was
// seen before (RFC 9449 section 11.1).
func (c *Client) rememberProof(ctx context.Context, p *dpopProof) *Error {
	key := sha256.Sum256([]byte(p.jkt + " " + p.jti))
	fresh, err := c.replay.Remember(ctx, hex.EncodeToString(key[:]), p.iat.Add(c.cfg.dpopLifetime+2*c.cfg.clockTolerance))
	if err != nil {
		c.emit(ctx, Event{Kind: EventCacheError, Op: "replay", Err: err})
		e := refuse(ErrUnavailable, "replay_store_unavailable", err)
		e.Scheme, e.RetryAfter = schemeDPoP, retryAfter
		return e
	}
	if !fresh {
		return badProof("replayed", nil)
	}
	return nil
}

// badProof is the refusal of an invalid DPoP proof.
func badProof(reason string, err error) *Error {
	return &Error{Code: ErrInvalidDPoPProof, Reason: reason, Scheme: schemeDPoP, Err: err}
}

// normalizeURL returns u without query and fragment, normalised as RFC
// 3986 section 6.2.2 says (scheme and host in lower case, no default
// port, percent-encoding decoded where it may be, an empty path as /).
// A URL with userinfo is refused: the htu check compares scheme, host
// and path (RFC 9449 section 4.3), and no request URL has userinfo.
func normalizeURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	path := u.EscapedPath()
	if unescaped, err := url.PathUnescape(path); err == nil {
		path = (&url.URL{Path: unescaped}).EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}
