// Command chi shows auth-go with the chi router: the auth middleware on the
// whole router, chi route groups protected by sign-in, by group
// membership, and as an API of the app's pages, and an API for other
// services that takes access tokens (the backend package).
//
// It is configured by the same environment as examples/quickstart
// (MONOCLOUD_AUTH_TENANT_DOMAIN, _CLIENT_ID, _CLIENT_SECRET, _APP_URL,
// _COOKIE_SECRET, and ADDR, default 127.0.0.1:8080), and
// MONOCLOUD_BACKEND_AUDIENCE, the identifier of its access-token API.
//
// This example is its own Go module, so that the core module does not
// depend on chi.
package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/backend"
)

func main() {
	client, err := monocloud.New(monocloud.Options{}) // MONOCLOUD_AUTH_* from the environment
	if err != nil {
		log.Fatal(err)
	}
	// The API trusts the same provider; MONOCLOUD_BACKEND_* for the rest.
	api, err := backend.New(backend.Options{TenantDomain: client.Options().TenantDomain})
	if err != nil {
		log.Fatal(err)
	}
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080")
	srv := &http.Server{Addr: addr, Handler: newHandler(client, api), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("chi example listening on http://%s", addr)
	log.Fatal(srv.ListenAndServe())
}

// newHandler returns the application: a chi router whose first middleware
// is the client's auth middleware, with api checking the access tokens of
// /api/orders.
func newHandler(client *monocloud.Client, api *backend.Client) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Logger, middleware.Recoverer)

	// The auth middleware runs for every request, matched route or not: it
	// serves /api/auth/signin, /api/auth/callback, /api/auth/signout … and
	// decodes the session once per request. It protects only what
	// ProtectedRoutes lists: here everything under /admin, for members of
	// the "admin" group.
	r.Use(client.AuthMiddleware(&monocloud.MiddlewareOptions{
		ProtectedRoutes: monocloud.ProtectGroups([]string{"admin"}, `^/admin(/|$)`),
	}))

	// Public pages.
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		s, err := client.Session(r.Context())
		if err != nil {
			fmt.Fprintf(w, `<p>Signed out. <a href="%s">Sign in</a></p>`, html.EscapeString(client.SignInURL("", nil)))
			return
		}
		fmt.Fprintf(w, `<p>Hello %s. <a href="/account">Account</a> <a href="/api/auth/signout">Sign out</a></p>`,
			html.EscapeString(s.User.Subject()))
	})

	// A page for signed-in users: ProtectPage sends visitors to sign-in and
	// back.
	r.With(client.ProtectPage(nil)).Get("/account", func(w http.ResponseWriter, r *http.Request) {
		s, _ := client.Session(r.Context()) // ProtectPage guarantees a session
		fmt.Fprintf(w, "<p>Signed in as %s (%s)</p>", html.EscapeString(s.User.Subject()), html.EscapeString(s.User.Email()))
	})

	// Pages for staff: ProtectPage can require groups too (403 otherwise).
	staff := &monocloud.ProtectOptions{GroupCheck: monocloud.GroupCheck{Groups: []string{"staff"}}}
	r.Group(func(r chi.Router) {
		r.Use(client.ProtectPage(staff))
		r.Get("/reports", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "<p>Staff reports.</p>")
		})
	})

	// Protected by the middleware's ProtectedRoutes above.
	r.Route("/admin", func(r chi.Router) {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "<p>Admins only.</p>")
		})
	})

	// An API: a chi sub-router with ProtectAPI, which answers 401/403 JSON
	// instead of redirecting.
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(client.ProtectAPI(nil))
		r.Get("/token", func(w http.ResponseWriter, r *http.Request) {
			tokens, err := client.GetTokens(r.Context(), nil) // refreshed if it expired
			if err != nil {
				http.Error(w, `{"message":"tokens unavailable"}`, http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"expired": tokens.IsExpired, "scopes": tokens.Scopes})
		})
	})

	// An API for other services and apps: it takes access tokens for
	// MONOCLOUD_BACKEND_AUDIENCE, never the session cookie, and this route
	// group needs the read:orders scope (401/403 JSON otherwise).
	r.Route("/api/orders", func(r chi.Router) {
		r.Use(api.Protect(&backend.ProtectOptions{Scopes: []string{"read:orders"}}))
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			claims, _ := backend.ClaimsFromContext(r.Context()) // Protect guarantees them
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"sub": claims.Subject(), "orders": []string{"tea"}})
		})
	})

	return r
}
