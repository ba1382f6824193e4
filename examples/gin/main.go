// Command gin shows auth-go with the gin router: the auth middleware
// around the whole engine, gin route groups protected as pages and as an
// API of the app's pages, a handler that calls GetTokens, and an API for
// other services that takes access tokens (the backend package).
//
// gin does not run net/http middleware itself, so the auth middleware goes
// around the engine (an http.Handler), and ginMiddleware runs ProtectPage,
// ProtectAPI and the backend package's Protect in a route group's chain. The engine's ContextWithFallback
// makes a *gin.Context reach the request's context, so handlers pass c to
// the helpers; without it they would have to pass c.Request.Context()
// (Session and GetTokens answer ErrNoRequestContext otherwise, and
// IsAuthenticated logs that error).
//
// It is configured by the same environment as examples/quickstart
// (MONOCLOUD_AUTH_TENANT_DOMAIN, _CLIENT_ID, _CLIENT_SECRET, _APP_URL,
// _COOKIE_SECRET, and ADDR, default 127.0.0.1:8080), and
// MONOCLOUD_BACKEND_AUDIENCE, the identifier of its access-token API.
//
// This example is its own Go module, so that the core module does not
// depend on gin.
package main

import (
	"cmp"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/backend"
)

func main() {
	client, err := monocloud.New(monocloud.Options{}) // MONOCLOUD_AUTH_* from the environment
	if err != nil {
		log.Fatal(err)
	}
	// The API trusts the same provider; MONOCLOUD_BACKEND_* for the rest.
	ordersAPI, err := backend.New(backend.Options{TenantDomain: client.Options().TenantDomain})
	if err != nil {
		log.Fatal(err)
	}
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080")
	srv := &http.Server{Addr: addr, Handler: newHandler(client, ordersAPI), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("gin example listening on http://%s", addr)
	log.Fatal(srv.ListenAndServe())
}

// newHandler returns the application: a gin engine inside the client's
// auth middleware, with ordersAPI checking the access tokens of /api/orders.
func newHandler(client *monocloud.Client, ordersAPI *backend.Client) http.Handler {
	r := gin.New()
	r.ContextWithFallback = true // c reaches the request's context: client.Session(c)
	r.Use(gin.Logger(), gin.Recovery())

	// Public.
	r.GET("/", func(c *gin.Context) {
		s, err := client.Session(c)
		if err != nil {
			c.Data(http.StatusOK, "text/html; charset=utf-8", fmt.Appendf(nil,
				`<p>Signed out. <a href="%s">Sign in</a></p>`, html.EscapeString(client.SignInURL("", nil))))
			return
		}
		c.Data(http.StatusOK, "text/html; charset=utf-8", fmt.Appendf(nil,
			`<p>Hello %s. <a href="/account">Account</a> <a href="/api/auth/signout">Sign out</a></p>`,
			html.EscapeString(s.User.Subject())))
	})

	// Pages for signed-in users: ProtectPage sends visitors to sign-in and
	// back.
	account := r.Group("/account", ginMiddleware(client.ProtectPage(nil)))
	account.GET("", func(c *gin.Context) {
		s, _ := client.Session(c) // ProtectPage guarantees a session
		c.String(http.StatusOK, "Signed in as %s", s.User.Subject())
	})

	// An API: ProtectAPI answers 401/403 JSON instead of redirecting.
	api := r.Group("/api", ginMiddleware(client.ProtectAPI(nil)))
	api.GET("/tokens", func(c *gin.Context) {
		tokens, err := client.GetTokens(c, nil) // refreshed if it expired
		if err != nil {
			// examples/quickstart tells "sign in again" from "try later".
			log.Printf("GetTokens: %v", err)
			c.JSON(http.StatusUnauthorized, gin.H{"message": "tokens unavailable"})
			return
		}
		// The access token only: never the refresh or ID token.
		c.JSON(http.StatusOK, gin.H{
			"accessToken":           tokens.AccessToken,
			"accessTokenExpiration": tokens.AccessTokenExpiration,
			"scopes":                tokens.Scopes,
		})
	})

	// An API for other services and apps: it takes access tokens for
	// MONOCLOUD_BACKEND_AUDIENCE, never the session cookie, and this group
	// needs the read:orders scope (401/403 JSON otherwise).
	orders := r.Group("/api/orders", ginMiddleware(ordersAPI.Protect(&backend.ProtectOptions{Scopes: []string{"read:orders"}})))
	orders.GET("", func(c *gin.Context) {
		claims, _ := backend.ClaimsFromContext(c) // Protect guarantees them
		c.JSON(http.StatusOK, gin.H{"sub": claims.Subject(), "orders": []string{"tea"}})
	})

	// The middleware serves /api/auth/signin, /api/auth/callback,
	// /api/auth/signout … before gin routes anything, and decodes the
	// session once per request. It protects nothing itself (an empty
	// ProtectedRoutes): the route groups above do.
	return client.AuthMiddleware(&monocloud.MiddlewareOptions{ProtectedRoutes: []monocloud.ProtectedRoute{}})(r)
}

// ginMiddleware runs net/http middleware, such as ProtectPage(nil), in a gin
// chain: the rest of the chain runs inside it, with the request it hands
// on, or not at all when it answers the request itself.
func ginMiddleware(m func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		m(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		c.Abort() // the chain ran inside m, or must not run
	}
}
