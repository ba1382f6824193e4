// Package realop starts and drives a real, certified OpenID provider
// (the npm package oidc-provider, configured in e2e/op/provider.mjs) for
// end-to-end tests of auth-go.
//
// The provider runs as a node child process on a free loopback port behind an
// in-process reverse proxy on another free loopback port. The proxy URL is the
// issuer. The proxy counts token requests and can inject faults into them.
//
// Requirements: node (20+) and npm on PATH. Start runs `npm ci` in e2e/op
// once when node_modules is missing or does not match package-lock.json.
//
// Provider behaviour worth knowing (see e2e/op/provider.mjs):
//   - login: the devInteractions login form accepts any login/password; the
//     login becomes the subject (sub). Consent is auto-granted (never shown).
//   - claims: profile → name, preferred_username, groups; email → email,
//     email_verified; groups → groups. groups is ["staff"], or
//     ["admin","staff"] for login "admin". They are in the ID token too.
//   - PKCE S256 is required; only response_type=code.
//   - every client with the refresh_token grant gets a refresh token (no
//     offline_access needed); refresh tokens rotate on every use and reusing
//     a consumed one revokes the whole grant (grant.revoked).
//   - refresh tokens without offline_access end with the provider session:
//     RP-initiated logout revokes them.
//   - resource indicators: an access token for a resource server is a JWT
//     whose aud is the resource URL. The authorization request must name the
//     resources (resource=... repeated, and their scopes) for a later token
//     request with resource= to be accepted; one resource per token request.
//     Without resource= the access token is opaque (for userinfo).
package realop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config describes the provider to start.
type Config struct {
	// Clients are the relying parties registered at the provider.
	Clients []Client
	// AccessTokenTTL is the lifetime of every access token (default 30s,
	// rounded up to whole seconds).
	AccessTokenTTL time.Duration
	// Resources are the resource servers (RFC 8707). Default:
	// https://api-one.example.test (scope "read:one") and
	// https://api-two.example.test (scope "read:two").
	Resources []Resource
	// MTLSEndpointAliases, when set, turns on mutual TLS client
	// authentication (self_signed_tls_client_auth and tls_client_auth) and
	// is published as the discovery document's mtls_endpoint_aliases:
	// endpoint names to the URLs
	// of the test's own TLS proxy, which must pass the client certificate
	// on in the X-Test-Client-Cert header (base64 DER).
	MTLSEndpointAliases map[string]string
}

// Client is the registration of one relying party.
type Client struct {
	ID, Secret             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI, if set, receives logout tokens (with sid).
	BackchannelLogoutURI string
	// AuthMethod is the token_endpoint_auth_method; default
	// "client_secret_basic" ("none" for a public client). Every method but
	// "none", "private_key_jwt" and the mutual TLS ones needs a Secret.
	AuthMethod string
	// TLSClientAuthSubjectDN is the subject DN of the certificate of a
	// tls_client_auth client, as Node's X509Certificate.subject prints it
	// ("CN=name"); the provider accepts any certificate with it that the
	// test's TLS proxy passes on (Config.MTLSEndpointAliases).
	TLSClientAuthSubjectDN string
	// JWKS is the client's public JWK Set (a JSON object with "keys"),
	// registered as jwks; private_key_jwt needs it. Not checked here.
	JWKS json.RawMessage
	// GrantTypes default to authorization_code and refresh_token; a
	// client with only client_credentials needs no redirect URI.
	GrantTypes []string
	// CertificateBoundAccessTokens binds the client's access tokens to
	// the certificate its token requests carry in X-Client-Cert
	// (URL-encoded PEM, RFC 8705).
	CertificateBoundAccessTokens bool
}

// Resource is a resource server (API) the provider issues access tokens
// for: JWTs, or opaque tokens (for introspection) when Format is "opaque".
type Resource struct{ URL, Scope, Format string }

// DefaultResources are used when Config.Resources is empty.
var DefaultResources = []Resource{
	{URL: "https://api-one.example.test", Scope: "read:one"},
	{URL: "https://api-two.example.test", Scope: "read:two"},
}

// Fault is applied by the proxy to POST requests to the token endpoint until
// it is replaced or cleared with SetTokenFault(Fault{}).
type Fault struct {
	// Status, when non-zero, is answered with Body (JSON content type when
	// Body starts with '{') without forwarding the request to the provider.
	Status int
	Body   string
	// Delay is waited before answering/forwarding; if the request's context
	// ends first, nothing is answered or forwarded.
	Delay time.Duration
	// HoldResponse, when non-zero and Status is not, forwards the request
	// to the provider even if its client gives up (the provider acts on
	// it, e.g. rotates a refresh token), then holds the provider's answer
	// this long before writing it. A client gone by then never gets it.
	HoldResponse time.Duration
}

// Event is one line the provider logged for an event.
type Event struct {
	Event     string `json:"event"`
	GrantType string `json:"grant_type,omitempty"`
	Error     string `json:"error,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	GrantID   string `json:"grant_id,omitempty"`
	Raw       string `json:"-"`
}

// Provider is a running oidc-provider behind the fault-injecting proxy.
type Provider struct {
	issuer    string
	tokenPath string

	mu            sync.Mutex
	events        []Event
	fault         Fault
	tokenRequests int
	changed       chan struct{} // closed and replaced whenever events change

	stderr *tailBuffer
}

// StartTimeout bounds how long Start waits for the provider's ready line.
const StartTimeout = 60 * time.Second

// Start starts a provider for the test; it is stopped by t.Cleanup.
func Start(t testing.TB, cfg Config) *Provider {
	t.Helper()
	opDir := OPDir()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("realop: node is not installed (not on PATH): the real-provider tests need Node.js 20+ and npm")
	}
	ensureNodeModules(t, opDir)

	p := &Provider{changed: make(chan struct{}), stderr: &tailBuffer{max: 64 << 10}}

	// The proxy listens first: its URL is the issuer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("realop: listen for proxy: %v", err)
	}
	p.issuer = "http://" + ln.Addr().String()

	env, err := cfg.env(p.issuer)
	if err != nil {
		ln.Close()
		t.Fatalf("realop: %v", err)
	}
	cmd := exec.Command("node", "provider.mjs")
	cmd.Dir = opDir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = p.stderr
	setProcessGroup(cmd)
	stdin, err := cmd.StdinPipe() // closed by us or by our death → provider exits
	if err != nil {
		ln.Close()
		t.Fatalf("realop: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		ln.Close()
		t.Fatalf("realop: %v", err)
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		ln.Close()
		t.Fatalf("realop: start node provider.mjs: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	var proxySrv *http.Server
	var transport *http.Transport
	t.Cleanup(func() {
		killProcessGroup(cmd)
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("realop: provider process did not exit")
		}
		if proxySrv != nil {
			proxySrv.Close()
		} else {
			ln.Close()
		}
		if transport != nil {
			transport.CloseIdleConnections()
		}
		if t.Failed() {
			t.Logf("realop: provider stderr (tail):\n%s", p.stderr.String())
		}
	})

	ready := make(chan string, 1)
	addrCh := make(chan string, 1)
	go p.readStdout(stdout, addrCh, ready)

	var backend string
	timeout := time.NewTimer(StartTimeout)
	defer timeout.Stop()
	for backend == "" || ready != nil {
		select {
		case a := <-addrCh:
			backend = a
			addrCh = nil
		case iss := <-ready:
			if iss != p.issuer {
				t.Fatalf("realop: provider reports issuer %q, want %q", iss, p.issuer)
			}
			ready = nil
		case <-exited:
			t.Fatalf("realop: provider exited before ready (%v); stderr:\n%s", waitErr, p.stderr.String())
		case <-timeout.C:
			t.Fatalf("realop: provider not ready after %v; stderr:\n%s", StartTimeout, p.stderr.String())
		}
	}

	target := &url.URL{Scheme: "http", Host: backend}
	// Idle connections are dropped before node closes them (its
	// keepAliveTimeout is 5 s): a POST sent on a connection node is closing
	// would fail with a 502.
	transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 4 * time.Second}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // preserve Host
			r.SetXForwarded()
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				http.Error(w, "realop proxy: "+err.Error(), http.StatusBadGateway)
			}
		},
	}
	p.tokenPath = "/token" // until discovery says otherwise
	proxySrv = &http.Server{Handler: p.proxyHandler(rp), ReadHeaderTimeout: 10 * time.Second}
	go proxySrv.Serve(ln)

	// The real token endpoint path, from discovery through the proxy.
	meta, err := p.discovery()
	if err != nil {
		t.Fatalf("realop: discovery: %v", err)
	}
	if meta.Issuer != p.issuer {
		t.Fatalf("realop: discovery issuer %q, want %q", meta.Issuer, p.issuer)
	}
	tu, err := url.Parse(meta.TokenEndpoint)
	if err != nil || tu.Path == "" {
		t.Fatalf("realop: bad token_endpoint %q", meta.TokenEndpoint)
	}
	p.mu.Lock()
	p.tokenPath = tu.Path
	p.mu.Unlock()
	t.Logf("realop: provider %s ready in %v", p.issuer, time.Since(started).Round(time.Millisecond))
	return p
}

// OPDir is the directory of the provider (e2e/op), found from this source file.
func OPDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("e2e", "op")
	}
	return filepath.Join(filepath.Dir(file), "..", "op")
}

func (cfg Config) env(issuer string) ([]string, error) {
	type clientJSON struct {
		ClientID                string          `json:"client_id"`
		ClientSecret            string          `json:"client_secret,omitempty"`
		RedirectURIs            []string        `json:"redirect_uris"`
		PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris,omitempty"`
		BackchannelLogoutURI    string          `json:"backchannel_logout_uri,omitempty"`
		TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
		GrantTypes              []string        `json:"grant_types"`
		ResponseTypes           []string        `json:"response_types"`
		JWKS                    json.RawMessage `json:"jwks,omitempty"`
		CertificateBound        bool            `json:"tls_client_certificate_bound_access_tokens,omitempty"`
		TLSClientAuthSubjectDN  string          `json:"tls_client_auth_subject_dn,omitempty"`
	}
	clients := make([]clientJSON, 0, len(cfg.Clients))
	for _, c := range cfg.Clients {
		grants, responses := c.GrantTypes, []string{"code"}
		if grants == nil {
			grants = []string{"authorization_code", "refresh_token"}
		}
		if !slices.Contains(grants, "authorization_code") {
			responses = []string{}
		}
		if c.ID == "" || (len(c.RedirectURIs) == 0 && len(responses) > 0) {
			return nil, fmt.Errorf("client %q needs an ID and at least one redirect URI", c.ID)
		}
		m := c.AuthMethod
		if m == "" {
			m = "client_secret_basic"
		}
		switch {
		case m == "private_key_jwt" && len(c.JWKS) == 0:
			return nil, fmt.Errorf("client %q: auth method %s needs a JWKS", c.ID, m)
		case m == "self_signed_tls_client_auth" && len(c.JWKS) == 0:
			return nil, fmt.Errorf("client %q: auth method %s needs a JWKS with the certificate (x5c)", c.ID, m)
		case m == "tls_client_auth" && c.TLSClientAuthSubjectDN == "":
			return nil, fmt.Errorf("client %q: auth method %s needs a TLSClientAuthSubjectDN", c.ID, m)
		case m != "none" && m != "private_key_jwt" && m != "self_signed_tls_client_auth" && m != "tls_client_auth" && c.Secret == "":
			return nil, fmt.Errorf("client %q: auth method %s needs a Secret", c.ID, m)
		}
		cj := clientJSON{
			ClientID:                c.ID,
			RedirectURIs:            c.RedirectURIs,
			PostLogoutRedirectURIs:  c.PostLogoutRedirectURIs,
			BackchannelLogoutURI:    c.BackchannelLogoutURI,
			TokenEndpointAuthMethod: m,
			GrantTypes:              grants,
			ResponseTypes:           responses,
			JWKS:                    c.JWKS,
			CertificateBound:        c.CertificateBoundAccessTokens,
			TLSClientAuthSubjectDN:  c.TLSClientAuthSubjectDN,
		}
		if m != "none" {
			cj.ClientSecret = c.Secret
		}
		clients = append(clients, cj)
	}
	res := cfg.Resources
	if len(res) == 0 {
		res = DefaultResources
	}
	type resJSON struct {
		URL    string `json:"url"`
		Scope  string `json:"scope"`
		Format string `json:"format,omitempty"`
	}
	rs := make([]resJSON, len(res))
	for i, r := range res {
		rs[i] = resJSON(r)
	}
	ttl := cfg.AccessTokenTTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	cj, err := json.Marshal(clients)
	if err != nil {
		return nil, err
	}
	rj, err := json.Marshal(rs)
	if err != nil {
		return nil, err
	}
	aj := []byte("")
	if cfg.MTLSEndpointAliases != nil {
		if aj, err = json.Marshal(cfg.MTLSEndpointAliases); err != nil {
			return nil, err
		}
	}
	return []string{
		"OP_MTLS_ALIASES_JSON=" + string(aj),
		"OP_PORT=0",
		"OP_ISSUER=" + issuer,
		"OP_CLIENTS_JSON=" + string(cj),
		"OP_RESOURCES_JSON=" + string(rj),
		fmt.Sprintf("OP_ACCESS_TOKEN_TTL=%d", secs),
		"OP_EXIT_ON_STDIN_EOF=1",
		"NODE_NO_WARNINGS=1",
	}, nil
}

func (p *Provider) readStdout(r io.Reader, addr, ready chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "ready "):
			ready <- strings.TrimSpace(strings.TrimPrefix(line, "ready "))
		case strings.HasPrefix(line, "{"):
			var ev Event
			var extra struct {
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &ev) != nil {
				p.stderr.Write([]byte("stdout: " + line + "\n"))
				continue
			}
			if ev.Event == "listening" {
				_ = json.Unmarshal([]byte(line), &extra)
				addr <- extra.Addr
				continue
			}
			ev.Raw = line
			p.mu.Lock()
			p.events = append(p.events, ev)
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		default:
			p.stderr.Write([]byte("stdout: " + line + "\n"))
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// Issuer is the issuer identifier: the proxy's URL, e.g. http://127.0.0.1:41234.
func (p *Provider) Issuer() string { return p.issuer }

// TokenEndpoint is the provider's token endpoint URL (through the proxy).
func (p *Provider) TokenEndpoint() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issuer + p.tokenPath
}

// Count is how many events named event the provider logged so far, with
// grant_type grantType; grantType "" counts every grant type.
// Events: grant.success, grant.error, refresh_token.consumed, grant.revoked,
// backchannel.success, backchannel.error, end_session.success, server_error.
func (p *Provider) Count(event, grantType string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.countLocked(event, grantType)
}

func (p *Provider) countLocked(event, grantType string) int {
	n := 0
	for _, e := range p.events {
		if e.Event == event && (grantType == "" || e.GrantType == grantType) {
			n++
		}
	}
	return n
}

// Events returns a copy of every event logged so far.
func (p *Provider) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// WaitCount waits until Count(event, grantType) >= n, failing the test after timeout.
func (p *Provider) WaitCount(t testing.TB, event, grantType string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		c := p.countLocked(event, grantType)
		ch := p.changed
		p.mu.Unlock()
		if c >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			var lines []string
			for _, e := range p.Events() {
				lines = append(lines, e.Raw)
			}
			t.Fatalf("realop: %d × %s (grant_type %q) after %v, want ≥ %d; events:\n%s",
				c, event, grantType, timeout, n, strings.Join(lines, "\n"))
		}
	}
}

// SetTokenFault makes the proxy apply f to every following POST to the token
// endpoint; Fault{} clears it.
func (p *Provider) SetTokenFault(f Fault) {
	p.mu.Lock()
	p.fault = f
	p.mu.Unlock()
}

// TokenRequests is how many POSTs to the token endpoint the proxy has seen
// (faulted ones included).
func (p *Provider) TokenRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenRequests
}

func (p *Provider) proxyHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		isToken := r.Method == http.MethodPost && r.URL.Path == p.tokenPath
		var f Fault
		if isToken {
			p.tokenRequests++
			f = p.fault
		}
		p.mu.Unlock()
		if isToken && f.Delay > 0 {
			// Read the body first: only then does the server notice a
			// client that gives up during the delay (r.Context is done),
			// so a timed-out request is never forwarded.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			tm := time.NewTimer(f.Delay)
			select {
			case <-tm.C:
			case <-r.Context().Done():
				tm.Stop()
				return
			}
		}
		if isToken && f.Status != 0 {
			if strings.HasPrefix(strings.TrimSpace(f.Body), "{") {
				w.Header().Set("Content-Type", "application/json")
			} else {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			}
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(f.Status)
			io.WriteString(w, f.Body)
			return
		}
		if isToken && f.HoldResponse > 0 {
			forwardAndHold(w, r, next, f.HoldResponse)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// forwardAndHold serves r with next whether or not r's client gives up,
// then writes next's answer to w after hold, unless the client has gone.
func forwardAndHold(w http.ResponseWriter, r *http.Request, next http.Handler, hold time.Duration) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
	tm := time.NewTimer(hold)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-r.Context().Done(): // noticed once next has read the body
		return
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

type discoveryDoc struct {
	Issuer             string `json:"issuer"`
	TokenEndpoint      string `json:"token_endpoint"`
	EndSessionEndpoint string `json:"end_session_endpoint"`
}

func (p *Provider) discovery() (*discoveryDoc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.issuer+"/.well-known/openid-configuration", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("status %s: %s", resp.Status, b)
	}
	var d discoveryDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (tb *tailBuffer) Write(b []byte) (int, error) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.b = append(tb.b, b...)
	if len(tb.b) > tb.max {
		tb.b = append([]byte(nil), tb.b[len(tb.b)-tb.max:]...)
	}
	return len(b), nil
}

func (tb *tailBuffer) String() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return string(tb.b)
}

// RotateKeys adds a fresh signing key in front of the provider's JWKS:
// tokens are signed with it from then on; the old keys stay published.
func (p *Provider) RotateKeys(t testing.TB) {
	t.Helper()
	resp, err := http.Post(p.issuer+"/__test/rotate-keys", "", nil)
	if err != nil {
		t.Fatalf("realop: rotating keys: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("realop: rotating keys: %s", resp.Status)
	}
}
