package backend_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
