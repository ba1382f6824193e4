// Command gin shows auth-go with the gin router: the auth middleware
// around the whole engine, gin route groups protected as pages and as an
// API, and a handler that calls GetTokens.
//
// gin does not run net/http middleware itself, so the middleware goes
// around the engine: the engine is an http.Handler. Handlers then pass
// c.Request.Context() to the helpers. A *gin.Context is a context.Context
// too, but it reaches the request's context only when the engine's
// ContextWithFallback is set: GetTokens(c, nil) answers ErrNoRequestContext
// otherwise.
//
// It is configured by the same environment as examples/quickstart
// (MONOCLOUD_AUTH_TENANT_DOMAIN, _CLIENT_ID, _CLIENT_SECRET, _APP_URL,
// _COOKIE_SECRET, and ADDR, default 127.0.0.1:8080).
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
)

func main() {
	client, err := monocloud.New(monocloud.Options{}) // MONOCLOUD_AUTH_* from the environment
	if err != nil {
		log.Fatal(err)
	}
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080")
	srv := &http.Server{Addr: addr, Handler: newHandler(client), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("gin example listening on http://%s", addr)
	log.Fatal(srv.ListenAndServe())
}

// newHandler returns the application: a gin engine inside the client's
// auth middleware.
func newHandler(client *monocloud.Client) http.Handler {
	r := gin.New()
	r.Use(gin.Logger(), gin.Recovery())

	// Public.
	r.GET("/", func(c *gin.Context) {
		s, err := client.Session(c.Request.Context())
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
	account := r.Group("/account", protect(client.ProtectPage, nil))
	account.GET("", func(c *gin.Context) {
		s, _ := client.Session(c.Request.Context()) // ProtectPage guarantees a session
		c.String(http.StatusOK, "Signed in as %s", s.User.Subject())
	})

	// An API: ProtectAPI answers 401/403 JSON instead of redirecting.
	api := r.Group("/api", protect(client.ProtectAPI, nil))
	api.GET("/tokens", func(c *gin.Context) {
		tokens, err := client.GetTokens(c.Request.Context(), nil) // refreshed if it expired
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

	// The middleware serves /api/auth/signin, /api/auth/callback,
	// /api/auth/signout … before gin routes anything, and decodes the
	// session once per request. It protects nothing itself (an empty
	// ProtectedRoutes): the route groups above do.
	return client.AuthMiddleware(&monocloud.MiddlewareOptions{ProtectedRoutes: []monocloud.ProtectedRoute{}})(r)
}

// protect turns client.ProtectPage or client.ProtectAPI into gin
// middleware: the rest of the chain runs when it lets the request through;
// otherwise its answer (a redirect to sign-in, 401 or 403) is the response.
func protect(p func(http.Handler, *monocloud.ProtectOptions) http.Handler, opts *monocloud.ProtectOptions) gin.HandlerFunc {
	return func(c *gin.Context) {
		allowed := false
		p(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			allowed = true
			c.Request = r
		}), opts).ServeHTTP(c.Writer, c.Request)
		if !allowed {
			c.Abort()
		}
	}
}
