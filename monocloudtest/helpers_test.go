package monocloudtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const (
	testClientID    = "test-client"
	testSecret      = "test-secret"
	testRedirectURI = "https://rp.example/callback"
	testState       = "state-123"
	testNonce       = "nonce-456"
)

// relyingParty is a minimal OpenID relying party, built on golang.org/x/oauth2
// and go-oidc, acting as the client of the provider under test.
type relyingParty struct {
	op       *Provider
	ctx      context.Context // carries op.Client() for oauth2 and go-oidc
	oidc     *oidc.Provider
	oauth2   *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// newRelyingParty discovers op and returns a relying party registered as the
// default client, authenticating with client_secret_basic.
func newRelyingParty(t *testing.T, op *Provider) *relyingParty {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), op.Client())
	discovered, err := oidc.NewProvider(ctx, op.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	endpoint := discovered.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return &relyingParty{
		op:   op,
		ctx:  ctx,
		oidc: discovered,
		oauth2: &oauth2.Config{
			ClientID:     testClientID,
			ClientSecret: testSecret,
			Endpoint:     endpoint,
			RedirectURL:  testRedirectURI,
			Scopes:       []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess},
		},
		verifier: discovered.Verifier(&oidc.Config{ClientID: testClientID}),
	}
}

// authCodeURL returns an authorization request URL with state, nonce and the
// PKCE challenge of verifier.
func (rp *relyingParty) authCodeURL(verifier string, opts ...oauth2.AuthCodeOption) string {
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce(testNonce), oauth2.S256ChallengeOption(verifier)}, opts...)
	return rp.oauth2.AuthCodeURL(testState, opts...)
}

// authorize signs the user in and returns the authorization code.
func (rp *relyingParty) authorize(t *testing.T, verifier string, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	callback := rp.op.Authorize(t, rp.authCodeURL(verifier, opts...))
	return codeFrom(t, rp.op, callback.Query())
}

// codeFrom returns the code of a successful authorization response.
func codeFrom(t *testing.T, op *Provider, response url.Values) string {
	t.Helper()
	if response.Get("state") != testState || response.Get("iss") != op.Issuer() || response.Get("code") == "" {
		t.Fatalf("authorization response %v: want code, state %q and iss %q", response, testState, op.Issuer())
	}
	return response.Get("code")
}

// signIn runs the authorization code flow and returns the tokens and the
// verified ID token.
func (rp *relyingParty) signIn(t *testing.T, opts ...oauth2.AuthCodeOption) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	code := rp.authorize(t, verifier, opts...)
	tok, err := rp.oauth2.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tok, rp.verifyIDToken(t, tok.Extra("id_token"))
}

// verifyIDToken verifies the raw ID token, which must be a string.
func (rp *relyingParty) verifyIDToken(t *testing.T, raw any) *oidc.IDToken {
	t.Helper()
	rawIDToken, _ := raw.(string)
	idToken, err := rp.verifier.Verify(rp.ctx, rawIDToken)
	if err != nil {
		t.Fatalf("verifying ID token: %v", err)
	}
	return idToken
}

// verifyAccessToken verifies the signature, issuer and expiry of an access
// token and returns its claims.
func (rp *relyingParty) verifyAccessToken(t *testing.T, accessToken string) accessTokenClaims {
	t.Helper()
	token, err := rp.oidc.Verifier(&oidc.Config{SkipClientIDCheck: true}).Verify(rp.ctx, accessToken)
	if err != nil {
		t.Fatalf("verifying access token: %v", err)
	}
	var claims accessTokenClaims
	if err := token.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	claims.Audience = token.Audience
	return claims
}

// accessTokenClaims are the claims of an access token.
type accessTokenClaims struct {
	Subject  string   `json:"sub"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Audience []string `json:"-"`
}

// tokenRequest POSTs form to the token endpoint of op with the default
// client's credentials in the Authorization header, and returns the status
// and JSON body.
func tokenRequest(t *testing.T, op *Provider, form url.Values) (int, map[string]any) {
	t.Helper()
	return postForm(t, op, tokenPath, form, basicAuth)
}

// basicAuth sets the default client's credentials in the Authorization
// header of r.
func basicAuth(r *http.Request) {
	r.SetBasicAuth(testClientID, testSecret)
}

// refresh makes a refresh_token grant request with the extra parameters.
func refresh(t *testing.T, op *Provider, refreshToken string, extra url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	for name, values := range extra {
		form[name] = values
	}
	return tokenRequest(t, op, form)
}

// postForm POSTs form to the endpoint path of op, after applying prepare to
// the request, and returns the status and JSON body.
func postForm(t *testing.T, op *Provider, path string, form url.Values, prepare func(*http.Request)) (int, map[string]any) {
	t.Helper()
	status, body, err := doPostForm(t.Context(), op, path, form, prepare)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// doPostForm is postForm for any goroutine.
func doPostForm(ctx context.Context, op *Provider, path string, form url.Values, prepare func(*http.Request)) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, op.Issuer()+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	prepare(req)
	resp, err := op.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, nil, fmt.Errorf("POST %s: %s: decoding body: %v", path, resp.Status, err)
	}
	return resp.StatusCode, body, nil
}

// wantError fails t unless status and body are the OAuth error code with the
// given status.
func wantError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantCode {
		t.Fatalf("got %d %v, want %d with error %q", status, body, wantStatus, wantCode)
	}
}

// wantRetrieveError fails t unless err is an oauth2 token endpoint error
// with the given code.
func wantRetrieveError(t *testing.T, err error, wantCode string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != wantCode {
		t.Fatalf("got error %v, want token endpoint error %q", err, wantCode)
	}
}

// get GETs rawURL with op's client without following redirects.
func get(t *testing.T, op *Provider, rawURL string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	client := &http.Client{
		Transport:     op.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// jwtHeader returns the protected header of a compact RS256 JWS.
func jwtHeader(t *testing.T, token string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parsing JWS: %v", err)
	}
	return jws.Signatures[0].Protected
}

// clock is a manually advanced clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock returns a clock set to the current time.
func newClock() *clock {
	return &clock{now: time.Now()}
}

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
