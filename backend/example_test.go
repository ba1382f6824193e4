package backend_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/monocloudtest"
)

// exampleT is a minimal monocloudtest.TestingT for examples; tests pass their *testing.T.
type exampleT struct{}

func (exampleT) Helper()                           {}
func (exampleT) Cleanup(func())                    {}
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Protect a route with a scope; the handler reads the token's claims.
func ExampleClient_Protect() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{
		TenantDomain: op.Issuer(), // or MONOCLOUD_BACKEND_TENANT_DOMAIN
		Audience:     "https://api.example.com",
		HTTPClient:   op.Client(),
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := backend.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "orders of %s", claims.Subject())
	})
	h := api.Protect(&backend.ProtectOptions{Scopes: []string{"read:orders"}})(orders)

	for _, scopes := range []string{"read:orders", "profile"} {
		token := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", Scopes: scopes, Subject: "alice"})
		r := httptest.NewRequest(http.MethodGet, "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	// Output:
	// 200  orders of alice
	// 403 Bearer error="insufficient_scope", scope="read:orders" {"error":"insufficient_scope","message":"forbidden"}
}

// Validate a token outside of HTTP middleware, e.g. in a gRPC interceptor
// or a WebSocket handshake, and branch on the refusal.
func ExampleClient_ValidateAccessToken() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: "https://api.example.com", HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	expired := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", TTL: -5 * time.Minute})
	_, err = api.ValidateAccessToken(context.Background(), expired, nil)
	var refusal *backend.Error
	if errors.As(err, &refusal) {
		fmt.Println(backend.StatusOf(err), refusal.Reason)
	}
	// Output:
	// 401 expired
}

// Opaque tokens are introspected: set the API's client credentials.
func ExampleOptions_introspection() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{ClientID: "orders-api", ClientSecret: "orders-api-secret"})
	api, err := backend.New(backend.Options{
		TenantDomain: op.Issuer(),
		Audience:     "https://api.example.com",
		ClientID:     "orders-api",        // MONOCLOUD_BACKEND_CLIENT_ID
		ClientSecret: "orders-api-secret", // MONOCLOUD_BACKEND_CLIENT_SECRET
		HTTPClient:   op.Client(),
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	token := op.MintOpaqueToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", Scopes: "read:orders"})
	for range 3 {
		claims, err := api.ValidateAccessToken(context.Background(), token, &backend.ProtectOptions{Scopes: []string{"read:orders"}})
		fmt.Println(claims.Scopes(), err)
	}
	fmt.Println("introspections:", op.IntrospectionRequests())
	// Output:
	// [read:orders] <nil>
	// [read:orders] <nil>
	// [read:orders] <nil>
	// introspections: 1
}

// Settings come from the MONOCLOUD_BACKEND_* variables, fields that are set
// win over them, and New reports every problem at once.
func ExampleNew() {
	// In production, the deployment sets the variables and the code sets
	// no field, as in
	//
	//	MONOCLOUD_BACKEND_TENANT_DOMAIN=acme.us.monocloud.com
	//	MONOCLOUD_BACKEND_AUDIENCE=https://api.example.com
	//	MONOCLOUD_BACKEND_CLIENT_ID=orders-api          # opaque tokens only
	//	MONOCLOUD_BACKEND_CLIENT_SECRET=...
	//	MONOCLOUD_BACKEND_GROUPS_MATCH_ALL=true
	//	MONOCLOUD_BACKEND_DPOP=required
	//	MONOCLOUD_BACKEND_TRUSTED_PROXIES=10.0.0.0/8
	//
	//	api, err := backend.New(backend.Options{})
	//
	// Here the fields are set, with three mistakes. Each problem is a
	// *backend.ValidationError naming the field and its variable.
	_, err := backend.New(backend.Options{
		TenantDomain:    "acme.us.monocloud.com", // https:// is added
		Audience:        "https://api.example.com",
		ClientID:        "orders-api", // without ClientSecret
		ResponseTimeout: 500 * time.Millisecond,
		DPoP:            "sometimes",
	})
	fmt.Println(err)
	// Output:
	// backend: ClientSecret (MONOCLOUD_BACKEND_CLIENT_SECRET): is required with ClientID for client_secret_post
	// backend: ResponseTimeout (MONOCLOUD_BACKEND_RESPONSE_TIMEOUT): must be at least 1s, got 500ms
	// backend: DPoP (MONOCLOUD_BACKEND_DPOP): must be allowed, required or disabled, got "sometimes"
}

// Discover at start-up reports a wrong tenant before the first request
// does.
func ExampleClient_Discover() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: "https://api.example.com", HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	fmt.Println(api.Discover(context.Background()))

	wrong, err := backend.New(backend.Options{TenantDomain: op.Issuer() + "/no-such-tenant", Audience: "https://api.example.com", HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	err = wrong.Discover(context.Background())
	fmt.Println(errors.Is(err, backend.ErrMisconfigured), backend.StatusOf(err))
	// Output:
	// <nil>
	// true 500
}

// A handler that answers refusals itself, here in plain text, validates
// the request with ValidateRequest; StatusOf gives the status of a refusal.
// Unlike Protect, ValidateRequest sets no WWW-Authenticate header.
func ExampleClient_ValidateRequest() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: "https://api.example.com", HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := api.ValidateRequest(r, &backend.ProtectOptions{Scopes: []string{"read:orders"}})
		if err != nil {
			status := backend.StatusOf(err)
			reason := http.StatusText(status)
			var refusal *backend.Error
			if errors.As(err, &refusal) {
				reason = refusal.Reason // fit for clients and metrics; err's text is for logs
			}
			http.Error(w, reason, status)
			return
		}
		fmt.Fprintf(w, "orders of %s\n", claims.Subject())
	})

	for _, token := range []string{
		op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", Scopes: "read:orders", Subject: "alice"}),
		op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", Scopes: "profile"}),
		op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://billing.example.com", Scopes: "read:orders"}),
		"",
	} {
		r := httptest.NewRequest(http.MethodGet, "https://api.example.com/orders", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		orders.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 200 orders of alice
	// 403 scope
	// 401 audience
	// 401 no_token
}

// Behind Protect, a handler reads the token's claims from the request's
// context.
func ExampleClaimsFromContext() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{ClientID: "orders-spa"})
	api, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: "https://api.example.com", HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	me := api.Protect(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := backend.ClaimsFromContext(r.Context())
		if !ok { // the route is not behind Protect
			http.Error(w, "unprotected route", http.StatusInternalServerError)
			return
		}
		fmt.Println("sub:", claims.Subject())
		fmt.Println("client:", claims.ClientID())
		fmt.Println("scopes:", claims.Scopes())
		fmt.Println("may write:", claims.HasScope("write:orders"))
		fmt.Println("groups:", claims.Groups("groups")) // Options.GroupsClaim
		fmt.Println("tenant:", claims["tenant"])        // any other claim
		exp, ok := claims.ExpiresAt()
		fmt.Println("expires:", ok && exp.After(time.Now()))
	}))

	token := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{
		Audience: "https://api.example.com",
		Subject:  "alice",
		Scopes:   "read:orders write:orders",
		Claims: map[string]any{
			"groups": []any{"admins", map[string]any{"id": "grp_42", "name": "billing"}},
			"tenant": "acme",
		},
	})
	r := httptest.NewRequest(http.MethodGet, "https://api.example.com/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	me.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// sub: alice
	// client: orders-spa
	// scopes: [read:orders write:orders]
	// may write: true
	// groups: [admins grp_42 billing]
	// tenant: acme
	// expires: true
}

// A route can require groups of the user: any of them, or all of them
// with MatchAll (for every route: Options.GroupsMatchAll,
// MONOCLOUD_BACKEND_GROUPS_MATCH_ALL).
func ExampleProtectOptions_groups() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: "https://api.example.com", HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	anyGroup := api.Protect(&backend.ProtectOptions{Groups: []string{"admins", "billing"}})(ok)
	allGroups := api.Protect(&backend.ProtectOptions{Groups: []string{"admins", "billing"}, MatchAll: true})(ok)

	// Bob is in billing, not in admins.
	token := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{
		Audience: "https://api.example.com",
		Subject:  "bob",
		Claims:   map[string]any{"groups": []string{"billing"}},
	})
	for _, h := range []http.Handler{anyGroup, allGroups} {
		r := httptest.NewRequest(http.MethodGet, "https://api.example.com/invoices", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 200 ok
	// 403 {"error":"insufficient_scope","message":"forbidden"}
}

// ErrorWriter replaces the JSON body of refusals, here with an RFC 9457
// problem document. Protect has set the WWW-Authenticate challenge before.
func ExampleOptions_errorWriter() {
	type problem struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail,omitempty"`
	}
	writeProblem := func(w http.ResponseWriter, r *http.Request, err error) {
		status := backend.StatusOf(err)
		if status >= 500 {
			backend.WriteError(w, r, err) // the default body
			return
		}
		p := problem{Title: http.StatusText(status), Status: status}
		var refusal *backend.Error
		if errors.As(err, &refusal) {
			p.Detail = refusal.Reason // never refusal.Err: it is for logs
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(p)
	}

	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{
		TenantDomain: op.Issuer(),
		Audience:     "https://api.example.com",
		ErrorWriter:  writeProblem,
		HTTPClient:   op.Client(),
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	h := api.Protect(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	expired := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", TTL: -time.Hour})
	r := httptest.NewRequest(http.MethodGet, "https://api.example.com/orders", nil)
	r.Header.Set("Authorization", "Bearer "+expired)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(w.Header().Get("WWW-Authenticate"))
	fmt.Print(w.Body.String())
	// Output:
	// 401 application/problem+json
	// Bearer error="invalid_token"
	// {"title":"Unauthorized","status":401,"detail":"expired"}
}

// A DPoP-bound token (RFC 9449, cnf.jkt) is accepted with the DPoP scheme
// and a proof signed by the key it is bound to, for this request, once;
// monocloudtest signs proofs as a client would.
func ExampleClient_Protect_dpop() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{
		TenantDomain: op.Issuer(),
		Audience:     "https://api.example.com",
		Algorithms:   []string{"RS256", "ES256"}, // of tokens and proofs, named in the DPoP challenge
		HTTPClient:   op.Client(),
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	h := api.Protect(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	key := monocloudtest.NewDPoPKey(exampleT{})
	token := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", DPoPKey: key})
	proof := key.Proof(exampleT{}, http.MethodGet, "https://api.example.com/orders", token)
	call := func(scheme, proof string) {
		r := httptest.NewRequest(http.MethodGet, "https://api.example.com/orders", nil)
		r.Header.Set("Authorization", scheme+" "+token)
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code)
		for _, challenge := range w.Header().Values("WWW-Authenticate") {
			fmt.Println("WWW-Authenticate:", challenge)
		}
	}
	call("DPoP", proof) // accepted
	call("DPoP", proof) // the same proof again: a replay
	call("Bearer", "")  // a stolen DPoP-bound token, without the key
	// Output:
	// 200
	// 401
	// WWW-Authenticate: DPoP error="invalid_dpop_proof", algs="RS256 ES256"
	// 401
	// WWW-Authenticate: Bearer error="invalid_token"
	// WWW-Authenticate: DPoP error="invalid_token", algs="RS256 ES256"
}

// With DPoP nonces (RFC 9449 section 9), the first proof of a client is
// refused with a nonce to put in its proofs; instances that share the
// secret accept each other's nonces. The client keeps the latest nonce it
// was sent: Protect sends a new one, on a success answer, when the client's
// is getting old (see NonceSource).
func ExampleNewNonceSource() {
	secret := []byte("at least 32 random bytes, the same for every instance")
	newInstance := func(op *monocloudtest.Provider) http.Handler {
		nonces, err := backend.NewNonceSource(secret, 5*time.Minute)
		if err != nil {
			panic(err)
		}
		api, err := backend.New(backend.Options{
			TenantDomain: op.Issuer(),
			Audience:     "https://api.example.com",
			Algorithms:   []string{"RS256", "ES256"},
			DPoPNonces:   nonces,
			HTTPClient:   op.Client(),
			Logger:       slog.New(slog.DiscardHandler),
		})
		if err != nil {
			panic(err)
		}
		return api.Protect(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	}
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	instances := []http.Handler{newInstance(op), newInstance(op)}

	key := monocloudtest.NewDPoPKey(exampleT{})
	token := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", DPoPKey: key})
	nonce := "" // the client's latest nonce
	for _, api := range instances {
		proof := key.SignProof(exampleT{}, monocloudtest.DPoPProof{
			Method: http.MethodGet, URL: "https://api.example.com/orders", AccessToken: token, Nonce: nonce,
		})
		r := httptest.NewRequest(http.MethodGet, "https://api.example.com/orders", nil)
		r.Header.Set("Authorization", "DPoP "+token)
		r.Header.Set("DPoP", proof)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(w.Code)
		for _, challenge := range w.Header().Values("WWW-Authenticate") {
			fmt.Println("WWW-Authenticate:", challenge)
		}
		if fresh := w.Header().Get("DPoP-Nonce"); fresh != "" {
			nonce = fresh // on a 401 the client retries with it at once
		}
	}
	// Output:
	// 401
	// WWW-Authenticate: DPoP error="use_dpop_nonce", algs="RS256 ES256"
	// 200
}

// rotatedNonces is a NonceSource whose nonce an operator's job rotates,
// as a nonce kept in a shared store would be; the previous nonce stays
// valid until the next rotation.
type rotatedNonces struct {
	mu                sync.Mutex
	current, previous string
}

func (n *rotatedNonces) rotate() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.previous, n.current = n.current, rand.Text()
}

func (n *rotatedNonces) Nonce() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.current
}

func (n *rotatedNonces) Valid(nonce string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return nonce != "" && (nonce == n.current || nonce == n.previous)
}

// A NonceSource of one's own, here rotatedNonces (defined next to this
// example): a nonce kept in a shared store that a job rotates, the previous
// one valid until the next rotation. A client that keeps the latest
// DPoP-Nonce it was sent is refused only for its first proof: after a
// rotation, Protect accepts the proof with the previous nonce and sends the
// new one with the answer.
func ExampleNonceSource() {
	nonces := &rotatedNonces{}
	nonces.rotate()
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{
		TenantDomain: op.Issuer(),
		Audience:     "https://api.example.com",
		DPoPNonces:   nonces,
		HTTPClient:   op.Client(),
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	h := api.Protect(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	key := monocloudtest.NewDPoPKey(exampleT{})
	token := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{Audience: "https://api.example.com", DPoPKey: key})
	nonce := ""
	for _, step := range []string{"first proof", "retry", "next call", "rotation", "after the rotation"} {
		if step == "rotation" {
			nonces.rotate()
		}
		proof := key.SignProof(exampleT{}, monocloudtest.DPoPProof{
			Method: http.MethodGet, URL: "https://api.example.com/orders", AccessToken: token, Nonce: nonce,
		})
		r := httptest.NewRequest(http.MethodGet, "https://api.example.com/orders", nil)
		r.Header.Set("Authorization", "DPoP "+token)
		r.Header.Set("DPoP", proof)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fresh := w.Header().Get("DPoP-Nonce")
		fmt.Printf("%s: %d, new nonce: %t\n", step, w.Code, fresh != "")
		if fresh != "" {
			nonce = fresh
		}
	}
	// Output:
	// first proof: 401, new nonce: true
	// retry: 200, new nonce: false
	// next call: 200, new nonce: false
	// rotation: 200, new nonce: true
	// after the rotation: 200, new nonce: false
}

// The default CertificateSource reads the client certificate of the TLS
// connection, which a certificate-bound token (RFC 8705, cnf.x5t#S256)
// needs: the server asks for client certificates.
func ExampleTLSCertificate() {
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{
		TenantDomain: op.Issuer(),
		Audience:     "https://api.example.com",
		// ClientCertificate: backend.TLSCertificate, the default
		HTTPClient: op.Client(),
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewUnstartedServer(api.Protect(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert} // or tls.RequireAnyClientCert
	srv.StartTLS()
	defer srv.Close()

	cert := monocloudtest.NewClientCertificate(exampleT{}, "orders-client")
	token := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{
		Audience:              "https://api.example.com",
		CertificateThumbprint: monocloudtest.CertificateThumbprint(cert.Leaf.Raw),
	})
	withCert := srv.Client().Transport.(*http.Transport).Clone()
	withCert.TLSClientConfig.Certificates = []tls.Certificate{cert}
	for _, client := range []*http.Client{{Transport: withCert}, srv.Client()} {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(r)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
		for _, challenge := range resp.Header.Values("WWW-Authenticate") {
			fmt.Println("WWW-Authenticate:", challenge)
		}
	}
	// Output:
	// 200
	// 401
	// WWW-Authenticate: Bearer error="invalid_token"
}

// Behind a proxy that terminates TLS, the API reads the client certificate
// the proxy forwards, here URL-encoded PEM in X-Client-Cert as nginx sends
// $ssl_client_escaped_cert, and believes the header only from the proxy.
func ExampleForwardedCertificate() {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	op := monocloudtest.NewProvider(exampleT{}, monocloudtest.Config{})
	api, err := backend.New(backend.Options{
		TenantDomain:      op.Issuer(),
		Audience:          "https://api.example.com",
		ClientCertificate: backend.ForwardedCertificate("X-Client-Cert", backend.CertificateURLEncodedPEM, proxies),
		// TrustedProxies (MONOCLOUD_BACKEND_TRUSTED_PROXIES) are for the
		// URL of DPoP proofs; ForwardedCertificate has its own list.
		TrustedProxies: proxies,
		HTTPClient:     op.Client(),
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	h := api.Protect(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	forwarded := func(cert tls.Certificate) string {
		return url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw})))
	}
	cert := monocloudtest.NewClientCertificate(exampleT{}, "orders-client")
	other := monocloudtest.NewClientCertificate(exampleT{}, "someone-else")
	token := op.MintAccessToken(exampleT{}, monocloudtest.AccessToken{
		Audience:              "https://api.example.com",
		CertificateThumbprint: monocloudtest.CertificateThumbprint(cert.Leaf.Raw),
	})
	for _, c := range []struct{ name, peer, header string }{
		{"the proxy, the token's certificate", "10.0.0.7:51000", forwarded(cert)},
		{"the proxy, another certificate", "10.0.0.7:51000", forwarded(other)},
		{"the proxy, no certificate", "10.0.0.7:51000", ""},
		{"a client forging the header", "203.0.113.9:51000", forwarded(cert)},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://api.internal/orders", nil)
		r.RemoteAddr = c.peer
		r.Header.Set("Authorization", "Bearer "+token)
		if c.header != "" {
			r.Header.Set("X-Client-Cert", c.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%s: %d\n", c.name, w.Code)
	}
	// Output:
	// the proxy, the token's certificate: 200
	// the proxy, another certificate: 401
	// the proxy, no certificate: 401
	// a client forging the header: 401
}
