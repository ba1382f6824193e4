// Command echo shows auth-go with the echo router: the auth middleware in
// front of echo's routing, echo route groups protected as pages and as an
// API of the app's pages, a handler that calls GetTokens, and an API for
// other services that takes access tokens (the backend package).
//
// echo.WrapMiddleware runs net/http middleware, and hands the request it
// passes on to the handlers as c.Request(). Handlers pass
// c.Request().Context() to the helpers.
//
// It is configured by the same environment as examples/quickstart
// (MONOCLOUD_AUTH_TENANT_DOMAIN, _CLIENT_ID, _CLIENT_SECRET, _APP_URL,
// _COOKIE_SECRET, and ADDR, default 127.0.0.1:8080), and
// MONOCLOUD_BACKEND_AUDIENCE, the identifier of its access-token API.
//
// This example is its own Go module, so that the core module does not
// depend on echo.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

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
	// echo's server: timeouts, and a graceful shutdown on ^C.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sc := echo.StartConfig{Address: cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080")}
	if err := sc.Start(ctx, newHandler(client, ordersAPI)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// newHandler returns the application: an echo instance whose first
// middleware is the client's auth middleware, with ordersAPI checking the access
// tokens of /api/orders.
func newHandler(client *monocloud.Client, ordersAPI *backend.Client) http.Handler {
	e := echo.New()

	// Pre runs the middleware for every request, before echo's routing: it
	// serves /api/auth/signin, /api/auth/callback, /api/auth/signout …,
	// which are no echo routes, and decodes the session once per request.
	// It protects nothing itself (an empty ProtectedRoutes): the route
	// groups below do.
	e.Pre(echo.WrapMiddleware(client.AuthMiddleware(&monocloud.MiddlewareOptions{ProtectedRoutes: []monocloud.ProtectedRoute{}})))
	e.Use(middleware.RequestLogger(), middleware.Recover())

	// Public.
	e.GET("/", func(c *echo.Context) error {
		s, err := client.Session(c.Request().Context())
		if err != nil {
			return c.HTML(http.StatusOK, fmt.Sprintf(`<p>Signed out. <a href="%s">Sign in</a></p>`,
				html.EscapeString(client.SignInURL("", nil))))
		}
		return c.HTML(http.StatusOK, fmt.Sprintf(`<p>Hello %s. <a href="/account">Account</a> <a href="/api/auth/signout">Sign out</a></p>`,
			html.EscapeString(s.User.Subject())))
	})

	// Pages for signed-in users: ProtectPage sends visitors to sign-in and
	// back.
	account := e.Group("/account", echo.WrapMiddleware(client.ProtectPage(nil)))
	account.GET("", func(c *echo.Context) error {
		s, _ := client.Session(c.Request().Context()) // ProtectPage guarantees a session
		return c.String(http.StatusOK, "Signed in as "+s.User.Subject())
	})

	// An API: ProtectAPI answers 401/403 JSON instead of redirecting.
	api := e.Group("/api", echo.WrapMiddleware(client.ProtectAPI(nil)))
	api.GET("/tokens", func(c *echo.Context) error {
		tokens, err := client.GetTokens(c.Request().Context(), nil) // refreshed if it expired
		if err != nil {
			// examples/quickstart tells "sign in again" from "try later".
			log.Printf("GetTokens: %v", err)
			return c.JSON(http.StatusUnauthorized, map[string]string{"message": "tokens unavailable"})
		}
		// The access token only: never the refresh or ID token.
		return c.JSON(http.StatusOK, map[string]any{
			"accessToken":           tokens.AccessToken,
			"accessTokenExpiration": tokens.AccessTokenExpiration,
			"scopes":                tokens.Scopes,
		})
	})

	// An API for other services and apps: it takes access tokens for
	// MONOCLOUD_BACKEND_AUDIENCE, never the session cookie, and this group
	// needs the read:orders scope (401/403 JSON otherwise).
	orders := e.Group("/api/orders", echo.WrapMiddleware(ordersAPI.Protect(&backend.ProtectOptions{Scopes: []string{"read:orders"}})))
	orders.GET("", func(c *echo.Context) error {
		claims, _ := backend.ClaimsFromContext(c.Request().Context()) // Protect guarantees them
		return c.JSON(http.StatusOK, map[string]any{"sub": claims.Subject(), "orders": []string{"tea"}})
	})

	return e
}
