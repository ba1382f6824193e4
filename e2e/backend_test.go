package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/e2e/realop"
	"github.com/monocloud/auth-go/monocloudtest"
)

// The APIs (resource servers) of the backend tests and their clients.
const (
	backendJWTAPI    = "https://orders.example.test"
	backendOpaqueAPI = "https://ledger.example.test"

	backendCaller       = "api-caller" // gets tokens with client_credentials
	backendCallerSecret = "api-caller-secret-0123456789abcdef"
	backendBoundCaller  = "api-caller-mtls" // its tokens are certificate-bound
	backendRS           = "api-resource-server"
	backendRSSecret     = "api-rs-secret-0123456789abcdef0123"
	// The resource servers that authenticate with a client certificate.
	backendRSTLS        = "api-rs-tls"         // tls_client_auth
	backendRSSelfSigned = "api-rs-self-signed" // self_signed_tls_client_auth
)

// backendOP is the provider of the backend tests, with the mTLS alias of
// its introspection endpoint and the certificates of the resource servers
// that authenticate with one.
type backendOP struct {
	*realop.Provider
	// mtls is the provider's mtls_endpoint_aliases.introspection_endpoint:
	// a TLS proxy that requires a client certificate and passes it on.
	mtls *httptest.Server
	// introspected counts the requests mtls passed on.
	introspected atomic.Int32
	// certs are the client certificates of backendRSTLS and
	// backendRSSelfSigned.
	certs map[string]tls.Certificate
}

// backendStart starts a provider with the APIs and their clients.
func backendStart(t *testing.T) *backendOP {
	t.Helper()
	op := &backendOP{certs: map[string]tls.Certificate{
		backendRSTLS:        monocloudtest.NewClientCertificate(t, backendRSTLS),
		backendRSSelfSigned: monocloudtest.NewClientCertificate(t, backendRSSelfSigned),
	}}
	var started atomic.Pointer[realop.Provider]
	op.mtls = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, _ := url.Parse(started.Load().Issuer())
		r.Header.Del("X-Test-Client-Cert")
		if len(r.TLS.PeerCertificates) > 0 {
			r.Header.Set("X-Test-Client-Cert", base64.StdEncoding.EncodeToString(r.TLS.PeerCertificates[0].Raw))
		}
		op.introspected.Add(1)
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	op.mtls.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	op.mtls.StartTLS()
	t.Cleanup(op.mtls.Close)
	selfSigned := op.certs[backendRSSelfSigned]
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: selfSigned.Leaf.PublicKey, Certificates: []*x509.Certificate{selfSigned.Leaf}}}})
	if err != nil {
		t.Fatal(err)
	}
	cc := []string{"client_credentials"}
	op.Provider = realop.Start(t, realop.Config{
		Clients: []realop.Client{
			{ID: backendCaller, Secret: backendCallerSecret, AuthMethod: "client_secret_post", GrantTypes: cc},
			{ID: backendBoundCaller, Secret: backendCallerSecret, AuthMethod: "client_secret_post", GrantTypes: cc, CertificateBoundAccessTokens: true},
			{ID: backendRS, Secret: backendRSSecret, AuthMethod: "client_secret_post", GrantTypes: cc},
			{ID: backendRSTLS, AuthMethod: "tls_client_auth", TLSClientAuthSubjectDN: "CN=" + backendRSTLS, GrantTypes: cc},
			{ID: backendRSSelfSigned, AuthMethod: "self_signed_tls_client_auth", JWKS: jwks, GrantTypes: cc},
		},
		Resources: []realop.Resource{
			{URL: backendJWTAPI, Scope: "orders:read orders:write"},
			{URL: backendOpaqueAPI, Scope: "ledger:read", Format: "opaque"},
		},
		AccessTokenTTL:      5 * time.Minute,
		MTLSEndpointAliases: map[string]string{"introspection_endpoint": op.mtls.URL + "/token/introspection"},
	})
	started.Store(op.Provider)
	return op
}

// backendToken gets an access token for resource with scope from the
// provider's token endpoint (client_credentials), editing the request with
// edit, and returns it with its token_type.
func backendToken(t *testing.T, op *backendOP, clientID, resource, scope string, edit func(*http.Request)) (token, tokenType string) {
	t.Helper()
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {backendCallerSecret},
		"resource": {resource}, "scope": {scope},
	}
	req, err := http.NewRequest(http.MethodPost, op.TokenEndpoint(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		t.Fatalf("token request: %s %s", resp.Status, body)
	}
	return tr.AccessToken, tr.TokenType
}

// backendClient returns a backend.Client for the API audience.
func backendClient(t *testing.T, op *backendOP, audience string, edit func(*backend.Options)) *backend.Client {
	t.Helper()
	opts := backend.Options{
		TenantDomain: op.Issuer(),
		Audience:     audience,
		ClientID:     backendRS,
		ClientSecret: backendRSSecret,
		Logger:       slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := backend.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// backendAPI serves c.Protect(opts) over HTTP and returns its URL; the
// handler answers the token's sub and client_id.
func backendAPI(t *testing.T, c *backend.Client, opts *backend.ProtectOptions) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(c.Protect(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := backend.ClaimsFromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]any{"client_id": claims.ClientID(), "scopes": claims.Scopes()})
	})))
	t.Cleanup(srv.Close)
	return srv
}

// backendCall calls url with the Authorization header auth (and DPoP
// proof, if any) and returns the status and WWW-Authenticate.
func backendCall(t *testing.T, client *http.Client, url, auth, proof string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, strings.Join(resp.Header.Values("WWW-Authenticate"), "; ")
}

// TestBackendAgainstRealProvider validates the access tokens oidc-provider
// issues for APIs (resource indicators): JWTs locally, opaque tokens by
// introspection, across a key rotation, DPoP-bound and certificate-bound.
func TestBackendAgainstRealProvider(t *testing.T) {
	t.Parallel()
	op := backendStart(t)
	orders := backendClient(t, op, backendJWTAPI, nil)
	read := backendAPI(t, orders, &backend.ProtectOptions{Scopes: []string{"orders:read"}})
	admin := backendAPI(t, orders, &backend.ProtectOptions{Scopes: []string{"orders:admin"}})

	t.Run("JWT access token for the resource", func(t *testing.T) {
		token, _ := backendToken(t, op, backendCaller, backendJWTAPI, "orders:read", nil)
		if status, ch := backendCall(t, http.DefaultClient, read.URL, "Bearer "+token, ""); status != 200 {
			t.Errorf("status %d %s", status, ch)
		}
		if status, ch := backendCall(t, http.DefaultClient, admin.URL, "Bearer "+token, ""); status != 403 || !strings.Contains(ch, `scope="orders:admin"`) {
			t.Errorf("route needing orders:admin: %d %s, want 403 naming the scope", status, ch)
		}
	})
	t.Run("token for another API", func(t *testing.T) {
		token, _ := backendToken(t, op, backendCaller, backendOpaqueAPI, "ledger:read", nil)
		if status, _ := backendCall(t, http.DefaultClient, read.URL, "Bearer "+token, ""); status != 401 {
			t.Errorf("status %d, want 401", status)
		}
	})
	t.Run("opaque token by introspection", func(t *testing.T) {
		ledger := backendClient(t, op, backendOpaqueAPI, nil)
		api := backendAPI(t, ledger, &backend.ProtectOptions{Scopes: []string{"ledger:read"}})
		token, _ := backendToken(t, op, backendCaller, backendOpaqueAPI, "ledger:read", nil)
		if strings.Count(token, ".") == 2 {
			t.Fatalf("token %q is a JWT, want opaque", token[:20])
		}
		if status, ch := backendCall(t, http.DefaultClient, api.URL, "Bearer "+token, ""); status != 200 {
			t.Errorf("status %d %s", status, ch)
		}
		if status, _ := backendCall(t, http.DefaultClient, api.URL, "Bearer not-a-token", ""); status != 401 {
			t.Errorf("unknown opaque token: status %d, want 401", status)
		}
	})
	for _, rs := range []struct {
		name, id, method, cert string
		status                 int // of a valid token
	}{
		{"tls_client_auth", backendRSTLS, "tls_client_auth", backendRSTLS, 200},
		{"self_signed_tls_client_auth", backendRSSelfSigned, "self_signed_tls_client_auth", backendRSSelfSigned, 200},
		{"tls_client_auth and another subject's certificate", backendRSTLS, "tls_client_auth", backendRSSelfSigned, 500},
	} {
		t.Run("opaque token introspected with "+rs.name, func(t *testing.T) {
			cert := op.certs[rs.cert]
			ledger := backendClient(t, op, backendOpaqueAPI, func(o *backend.Options) {
				o.ClientID, o.ClientSecret, o.ClientAuthMethod, o.ClientAuthCertificate = rs.id, "", rs.method, &cert
				o.HTTPClient = op.mtls.Client() // trusts the alias' TLS certificate
			})
			api := backendAPI(t, ledger, &backend.ProtectOptions{Scopes: []string{"ledger:read"}})
			token, _ := backendToken(t, op, backendCaller, backendOpaqueAPI, "ledger:read", nil)
			before := op.introspected.Load()
			if status, ch := backendCall(t, http.DefaultClient, api.URL, "Bearer "+token, ""); status != rs.status {
				t.Errorf("status %d %s, want %d", status, ch, rs.status)
			}
			if n := op.introspected.Load() - before; n != 1 {
				t.Errorf("%d introspections through the mTLS alias, want 1", n)
			}
			if rs.status != 200 {
				return
			}
			if status, _ := backendCall(t, http.DefaultClient, api.URL, "Bearer not-a-token-"+rs.id, ""); status != 401 {
				t.Errorf("unknown opaque token: status %d, want 401", status)
			}
		})
	}
	t.Run("key rotation", func(t *testing.T) {
		before, _ := backendToken(t, op, backendCaller, backendJWTAPI, "orders:read", nil)
		if status, _ := backendCall(t, http.DefaultClient, read.URL, "Bearer "+before, ""); status != 200 {
			t.Fatalf("before the rotation: status %d", status)
		}
		op.RotateKeys(t)
		after, _ := backendToken(t, op, backendCaller, backendJWTAPI, "orders:read", nil)
		if status, ch := backendCall(t, http.DefaultClient, read.URL, "Bearer "+after, ""); status != 200 {
			t.Errorf("token signed with the new key: status %d %s", status, ch)
		}
	})
	t.Run("DPoP-bound token", func(t *testing.T) {
		key := monocloudtest.NewDPoPKey(t)
		token, typ := backendToken(t, op, backendCaller, backendJWTAPI, "orders:read", func(r *http.Request) {
			r.Header.Set("DPoP", key.Proof(t, http.MethodPost, op.TokenEndpoint(), ""))
		})
		if typ != "DPoP" {
			t.Fatalf("token_type %q, want DPoP", typ)
		}
		if status, ch := backendCall(t, http.DefaultClient, read.URL, "DPoP "+token, key.Proof(t, http.MethodGet, read.URL, token)); status != 200 {
			t.Errorf("with its proof: status %d %s", status, ch)
		}
		if status, ch := backendCall(t, http.DefaultClient, read.URL, "Bearer "+token, ""); status != 401 || !strings.Contains(ch, "DPoP") {
			t.Errorf("as a Bearer token: %d %s, want 401 with a DPoP challenge", status, ch)
		}
		other := monocloudtest.NewDPoPKey(t)
		if status, _ := backendCall(t, http.DefaultClient, read.URL, "DPoP "+token, other.Proof(t, http.MethodGet, read.URL, token)); status != 401 {
			t.Errorf("with another key's proof: status %d, want 401", status)
		}
	})
	t.Run("certificate-bound token", func(t *testing.T) {
		cert := monocloudtest.NewClientCertificate(t, backendBoundCaller)
		pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw})
		token, _ := backendToken(t, op, backendBoundCaller, backendJWTAPI, "orders:read", func(r *http.Request) {
			r.Header.Set("X-Client-Cert", url.PathEscape(string(pemCert)))
		})
		api := httptest.NewUnstartedServer(orders.Protect(nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		api.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
		api.StartTLS()
		t.Cleanup(api.Close)
		transport := api.Client().Transport.(*http.Transport).Clone()
		transport.TLSClientConfig.Certificates = []tls.Certificate{cert}
		withCert := &http.Client{Transport: transport}
		if status, ch := backendCall(t, withCert, api.URL, "Bearer "+token, ""); status != 200 {
			t.Errorf("with its certificate: status %d %s", status, ch)
		}
		if status, _ := backendCall(t, api.Client(), api.URL, "Bearer "+token, ""); status != 401 {
			t.Errorf("without a certificate: status %d, want 401", status)
		}
	})
}

// TestBackendProviderDown cuts the API off the provider: tokens signed with
// a cached key are still validated; without cached keys the API answers
// 503 with Retry-After.
func TestBackendProviderDown(t *testing.T) {
	t.Parallel()
	op := backendStart(t)
	gate := &flowGate{}
	gate.open.Store(true)
	c := backendClient(t, op, backendJWTAPI, func(o *backend.Options) { o.HTTPClient = &http.Client{Transport: gate} })
	api := backendAPI(t, c, nil)
	first, _ := backendToken(t, op, backendCaller, backendJWTAPI, "orders:read", nil)
	if status, _ := backendCall(t, http.DefaultClient, api.URL, "Bearer "+first, ""); status != 200 {
		t.Fatalf("provider up: status %d", status)
	}
	gate.open.Store(false)
	second, _ := backendToken(t, op, backendCaller, backendJWTAPI, "orders:read", nil)
	if status, _ := backendCall(t, http.DefaultClient, api.URL, "Bearer "+second, ""); status != 200 {
		t.Errorf("provider down, keys cached: status %d, want 200", status)
	}
	cold := backendClient(t, op, backendJWTAPI, func(o *backend.Options) { o.HTTPClient = &http.Client{Transport: gate} })
	coldAPI := backendAPI(t, cold, nil)
	req, _ := http.NewRequest(http.MethodGet, coldAPI.URL, nil)
	req.Header.Set("Authorization", "Bearer "+second)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("provider down, no keys: %s Retry-After %q, want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
}

// TestBackendAcceptsGetTokens closes the loop: the access token a web app
// gets from GetTokens for a resource is sent to that API over HTTP and
// accepted by its Protect, whose handler sees the user's claims; the ID
// token and a token for another API are refused.
func TestBackendAcceptsGetTokens(t *testing.T) {
	t.Parallel()
	app := flowStart(t, flowConfig{})
	browser := flowBrowser(t)
	app.signIn(t, browser, "alice", "/protected")
	c, err := backend.New(backend.Options{TenantDomain: app.op.Issuer(), Audience: flowAPIOne.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// seen is what the handler behind Protect saw.
	type seen struct {
		Sub    string   `json:"sub"`
		Aud    any      `json:"aud"`
		Scopes []string `json:"scopes"`
	}
	api := httptest.NewServer(c.Protect(&backend.ProtectOptions{Scopes: []string{flowAPIOne.Scope}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := backend.ClaimsFromContext(r.Context())
		json.NewEncoder(w).Encode(seen{Sub: claims.Subject(), Aud: claims["aud"], Scopes: claims.Scopes()})
	})))
	t.Cleanup(api.Close)
	call := func(t *testing.T, token string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}

	t.Run("token for the API", func(t *testing.T) {
		tok, _ := app.tokens(t, browser, url.Values{"resource": {flowAPIOne.URL}})
		resp, body := call(t, tok.AccessToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %s %q %s, want 200", resp.Status, resp.Header.Get("WWW-Authenticate"), body)
		}
		var got seen
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("handler answer %s: %v", body, err)
		}
		aud, _ := got.Aud.(string)
		if list, ok := got.Aud.([]any); ok && len(list) == 1 {
			aud, _ = list[0].(string)
		}
		if got.Sub != "alice" || aud != flowAPIOne.URL || !slices.Contains(got.Scopes, flowAPIOne.Scope) {
			t.Errorf("the handler saw %+v, want sub alice, aud %s and scope %s", got, flowAPIOne.URL, flowAPIOne.Scope)
		}
	})
	for name, token := range map[string]func(t *testing.T) string{
		"ID token": func(t *testing.T) string {
			tok, _ := app.tokens(t, browser, nil)
			return tok.IDToken
		},
		"token for another API": func(t *testing.T) string {
			tok, _ := app.tokens(t, browser, url.Values{"resource": {flowAPITwo.URL}})
			return tok.AccessToken
		},
	} {
		t.Run(name, func(t *testing.T) {
			tok := token(t)
			if tok == "" {
				t.Fatal("GetTokens returned no token")
			}
			resp, body := call(t, tok)
			if ch := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) {
				t.Errorf("status %s %q %s, want 401 invalid_token", resp.Status, ch, body)
			}
		})
	}
}
