package realop_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/monocloud/auth-go/e2e/realop"
)

const (
	clientID     = "rp-test"
	clientSecret = "rp-test-secret-0123456789abcdef0123456789"
	apiOne       = "https://api-one.example.test"
	apiTwo       = "https://api-two.example.test"
)

// tinyRP is a minimal relying party: /login starts the code flow with PKCE
// and both resource indicators, /callback exchanges the code and verifies the
// ID token, then redirects to /app.
type tinyRP struct {
	t        *testing.T
	srv      *httptest.Server
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier

	mu        sync.Mutex
	state     string
	pkce      string
	token     *oauth2.Token
	idToken   *oidc.IDToken
	rawIDTok  string
	callbacks int
}

func newTinyRP(t *testing.T) *tinyRP {
	rp := &tinyRP{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, rp.authURL(), http.StatusFound)
	})
	mux.HandleFunc("/callback", rp.callback)
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *tinyRP) authURL() string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.state = oauth2.GenerateVerifier()
	rp.pkce = oauth2.GenerateVerifier()
	u := rp.oauth.AuthCodeURL(rp.state, oauth2.S256ChallengeOption(rp.pkce))
	// x/oauth2 sets one value per parameter: add the repeated resource= by hand.
	return u + "&" + url.Values{"resource": {apiOne, apiTwo}}.Encode()
}

func (rp *tinyRP) callback(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.callbacks++
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		http.Error(w, "provider error: "+e+": "+q.Get("error_description"), http.StatusBadRequest)
		return
	}
	if q.Get("state") != rp.state {
		http.Error(w, "state mismatch", http.StatusBadRequest)
		return
	}
	tok, err := rp.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(rp.pkce))
	if err != nil {
		http.Error(w, "exchange: "+err.Error(), http.StatusBadGateway)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(r.Context(), raw)
	if err != nil {
		http.Error(w, "id token: "+err.Error(), http.StatusBadGateway)
		return
	}
	rp.token, rp.idToken, rp.rawIDTok = tok, idt, raw
	http.Redirect(w, r, "/app", http.StatusFound)
}

func (rp *tinyRP) tokens() (*oauth2.Token, *oidc.IDToken, string) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.token, rp.idToken, rp.rawIDTok
}

type tokenResponse struct {
	status       int
	Error        string `json:"error"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

// refresh does a refresh_token grant by hand (x/oauth2 cannot send resource=).
func refresh(t *testing.T, ctx context.Context, tokenURL, rt, resource string) tokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if resource != "" {
		form.Set("resource", resource)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tokenResponse{status: -1, Error: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	tr := tokenResponse{status: resp.StatusCode}
	if err := json.Unmarshal(b, &tr); err != nil && resp.StatusCode < 500 {
		t.Fatalf("token response %s: %s", resp.Status, b)
	}
	return tr
}

func jwtPayload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func audContains(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, x := range a {
			if x == want {
				return true
			}
		}
	}
	return false
}

func TestRealProvider(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var bcMu sync.Mutex
	var logoutTokens []string
	bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		bcMu.Lock()
		logoutTokens = append(logoutTokens, r.PostForm.Get("logout_token"))
		bcMu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(bc.Close)

	rp := newTinyRP(t)
	start := time.Now()
	op := realop.Start(t, realop.Config{
		Clients: []realop.Client{{
			ID:                     clientID,
			Secret:                 clientSecret,
			RedirectURIs:           []string{rp.srv.URL + "/callback"},
			PostLogoutRedirectURIs: []string{rp.srv.URL + "/signed-out"},
			BackchannelLogoutURI:   bc.URL + "/backchannel",
		}},
		AccessTokenTTL: 40 * time.Second,
	})
	t.Logf("Start took %v", time.Since(start))

	// Discovery through the proxy; go-oidc checks issuer == the URL asked.
	provider, err := oidc.NewProvider(ctx, op.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		Issuer             string `json:"issuer"`
		TokenEndpoint      string `json:"token_endpoint"`
		EndSessionEndpoint string `json:"end_session_endpoint"`
		JWKSURI            string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{meta.TokenEndpoint, meta.EndSessionEndpoint, meta.JWKSURI, provider.Endpoint().AuthURL} {
		if !strings.HasPrefix(u, op.Issuer()+"/") {
			t.Errorf("endpoint %q is not under the issuer %q", u, op.Issuer())
		}
	}
	if op.TokenEndpoint() != meta.TokenEndpoint {
		t.Errorf("TokenEndpoint() = %q, discovery says %q", op.TokenEndpoint(), meta.TokenEndpoint)
	}
	rp.oauth = &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  rp.srv.URL + "/callback",
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email", "read:one", "read:two"},
	}
	rp.verifier = provider.Verifier(&oidc.Config{ClientID: clientID})

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}

	// Sign in as alice through the RP.
	resp := op.SignIn(t, browser, rp.srv.URL+"/login", "alice")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("SignIn ended with %s Location=%q: %s", resp.Status, resp.Header.Get("Location"), b)
	}
	tok, idt, _ := rp.tokens()
	if idt.Subject != "alice" {
		t.Errorf("sub = %q, want alice", idt.Subject)
	}
	var claims struct {
		Name   string   `json:"name"`
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
		SID    string   `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Email != "alice@example.test" || claims.Name != "Alice" || len(claims.Groups) != 1 || claims.Groups[0] != "staff" {
		t.Errorf("ID token claims = %+v", claims)
	}
	if tok.RefreshToken == "" {
		t.Fatalf("no refresh token from the code exchange")
	}
	if got := op.Count("grant.success", "authorization_code"); got != 1 {
		// events are read asynchronously, but the line is written before the HTTP answer
		op.WaitCount(t, "grant.success", "authorization_code", 1, 5*time.Second)
	}

	// Refresh with a resource indicator: JWT access token for api-one, rotated refresh token.
	r1 := refresh(t, ctx, meta.TokenEndpoint, tok.RefreshToken, apiOne)
	if r1.status != http.StatusOK {
		t.Fatalf("refresh with resource: %d %s", r1.status, r1.Error)
	}
	if r1.RefreshToken == "" || r1.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh token not rotated: %q", r1.RefreshToken)
	}
	if r1.ExpiresIn != 40 {
		t.Errorf("expires_in = %d, want 40", r1.ExpiresIn)
	}
	at := jwtPayload(t, r1.AccessToken)
	if !audContains(at["aud"], apiOne) || at["sub"] != "alice" {
		t.Errorf("access token payload = %v", at)
	}
	if !strings.Contains(r1.Scope, "read:one") || strings.Contains(r1.Scope, "read:two") {
		t.Errorf("scope = %q", r1.Scope)
	}
	keys := oidc.NewRemoteKeySet(ctx, meta.JWKSURI)
	if _, err := keys.VerifySignature(ctx, r1.AccessToken); err != nil {
		t.Errorf("access token signature: %v", err)
	}
	op.WaitCount(t, "grant.success", "refresh_token", 1, 5*time.Second)
	op.WaitCount(t, "refresh_token.consumed", "", 1, 5*time.Second)

	// api-two with the rotated token.
	r2 := refresh(t, ctx, meta.TokenEndpoint, r1.RefreshToken, apiTwo)
	if r2.status != http.StatusOK || !audContains(jwtPayload(t, r2.AccessToken)["aud"], apiTwo) {
		t.Fatalf("refresh for api-two: %d %s", r2.status, r2.Error)
	}

	// Reusing a consumed refresh token: invalid_grant, and the grant is revoked.
	reuse := refresh(t, ctx, meta.TokenEndpoint, tok.RefreshToken, "")
	if reuse.status != http.StatusBadRequest || reuse.Error != "invalid_grant" {
		t.Fatalf("reuse: %d %q, want 400 invalid_grant", reuse.status, reuse.Error)
	}
	op.WaitCount(t, "grant.revoked", "", 1, 5*time.Second)
	op.WaitCount(t, "grant.error", "refresh_token", 1, 5*time.Second)
	if after := refresh(t, ctx, meta.TokenEndpoint, r2.RefreshToken, ""); after.Error != "invalid_grant" {
		t.Fatalf("latest refresh token after revocation: %d %q, want invalid_grant", after.status, after.Error)
	}

	// Sign in again: the provider session remains, so no login form; a new grant.
	resp = op.SignIn(t, browser, rp.srv.URL+"/login", "should-not-be-used")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("second SignIn: %s", resp.Status)
	}
	tok, idt, rawID := rp.tokens()
	if idt.Subject != "alice" {
		t.Errorf("second sign-in sub = %q, want alice (existing session)", idt.Subject)
	}

	// Faults on the token endpoint.
	n := op.TokenRequests()
	okBefore := op.Count("grant.success", "refresh_token")
	op.SetTokenFault(realop.Fault{Status: http.StatusInternalServerError, Body: `{"error":"server_error"}`})
	if f := refresh(t, ctx, meta.TokenEndpoint, tok.RefreshToken, ""); f.status != http.StatusInternalServerError {
		t.Fatalf("with 500 fault: %d %q", f.status, f.Error)
	}
	op.SetTokenFault(realop.Fault{Status: http.StatusBadRequest, Body: `{"error":"invalid_grant"}`})
	if f := refresh(t, ctx, meta.TokenEndpoint, tok.RefreshToken, ""); f.status != http.StatusBadRequest || f.Error != "invalid_grant" {
		t.Fatalf("with 400 fault: %d %q", f.status, f.Error)
	}
	op.SetTokenFault(realop.Fault{Delay: 2 * time.Second})
	shortCtx, shortCancel := context.WithTimeout(ctx, 200*time.Millisecond)
	if f := refresh(t, shortCtx, meta.TokenEndpoint, tok.RefreshToken, ""); f.status != -1 {
		t.Fatalf("delayed request should time out on the client, got %d", f.status)
	}
	shortCancel()
	if got := op.TokenRequests(); got != n+3 {
		t.Errorf("TokenRequests = %d, want %d", got, n+3)
	}
	op.SetTokenFault(realop.Fault{})
	rec := refresh(t, ctx, meta.TokenEndpoint, tok.RefreshToken, apiOne)
	if rec.status != http.StatusOK {
		t.Fatalf("after clearing the fault: %d %q", rec.status, rec.Error)
	}
	// None of the faulted requests reached the provider.
	op.WaitCount(t, "grant.success", "refresh_token", okBefore+1, 5*time.Second)
	if got := op.Count("grant.success", "refresh_token"); got != okBefore+1 {
		t.Errorf("refresh grants = %d, want %d", got, okBefore+1)
	}

	// A held answer arrives late; a client that gives up meanwhile gets
	// none, yet the provider has acted on its request.
	const hold = 500 * time.Millisecond
	op.SetTokenFault(realop.Fault{HoldResponse: hold})
	began := time.Now()
	late := refresh(t, ctx, meta.TokenEndpoint, rec.RefreshToken, "")
	if late.status != http.StatusOK || late.RefreshToken == "" || time.Since(began) < hold {
		t.Fatalf("held answer: %d %q after %v, want 200 with a refresh token after %v", late.status, late.Error, time.Since(began), hold)
	}
	shortCtx, shortCancel = context.WithTimeout(ctx, 200*time.Millisecond)
	if f := refresh(t, shortCtx, meta.TokenEndpoint, late.RefreshToken, ""); f.status != -1 {
		t.Fatalf("held answer should time out on the client, got %d", f.status)
	}
	shortCancel()
	op.SetTokenFault(realop.Fault{})
	op.WaitCount(t, "grant.success", "refresh_token", okBefore+3, 5*time.Second)

	// RP-initiated logout, with back-channel logout to the RP.
	q := url.Values{
		"id_token_hint":            {rawID},
		"post_logout_redirect_uri": {rp.srv.URL + "/signed-out"},
		"state":                    {"bye"},
	}
	resp = op.SignOut(t, browser, meta.EndSessionEndpoint+"?"+q.Encode())
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil ||
		!strings.HasPrefix(loc.String(), rp.srv.URL+"/signed-out") || loc.Query().Get("state") != "bye" {
		t.Fatalf("SignOut: %s Location=%v", resp.Status, loc)
	}
	op.WaitCount(t, "end_session.success", "", 1, 5*time.Second)
	op.WaitCount(t, "backchannel.success", "", 1, 5*time.Second)
	bcMu.Lock()
	got := append([]string(nil), logoutTokens...)
	bcMu.Unlock()
	if len(got) != 1 || got[0] == "" {
		t.Fatalf("back-channel logout tokens = %q", got)
	}
	lt := jwtPayload(t, got[0])
	if lt["iss"] != op.Issuer() || !audContains(lt["aud"], clientID) || lt["sub"] != "alice" || lt["sid"] != claims.SID || claims.SID == "" {
		t.Errorf("logout token = %v (ID token sid %q)", lt, claims.SID)
	}
	if ev, _ := lt["events"].(map[string]any); ev == nil || ev["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Errorf("logout token events = %v", lt["events"])
	}
	if _, err := keys.VerifySignature(ctx, got[0]); err != nil {
		t.Errorf("logout token signature: %v", err)
	}
	// The session's refresh tokens ended with it.
	if after := refresh(t, ctx, meta.TokenEndpoint, rec.RefreshToken, ""); after.Error != "invalid_grant" {
		t.Errorf("refresh after logout: %d %q, want invalid_grant", after.status, after.Error)
	}

	// Signing in after logout shows the login form again: a different user.
	resp = op.SignIn(t, browser, rp.srv.URL+"/login", "admin")
	resp.Body.Close()
	_, idt, _ = rp.tokens()
	var adminClaims struct {
		Groups []string `json:"groups"`
	}
	_ = idt.Claims(&adminClaims)
	if idt.Subject != "admin" || strings.Join(adminClaims.Groups, ",") != "admin,staff" {
		t.Errorf("after logout: sub %q groups %v", idt.Subject, adminClaims.Groups)
	}
	if got := op.Count("server_error", ""); got != 0 {
		t.Errorf("provider server errors: %v", op.Events())
	}
}
