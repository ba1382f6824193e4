// Package usertest is an application as a user's repository would hold
// one, in a module of its own that sees only the public API of
// github.com/monocloud/auth-go. Its tests run in a shell whose
// MONOCLOUD_AUTH_* variables would break them if the library read them.
package usertest

import (
	"fmt"
	"net/http"

	monocloud "github.com/monocloud/auth-go"
)

// NewApp returns the application's handler: the auth routes, a public home
// page and a profile page for signed-in users only.
func NewApp(client *monocloud.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "home")
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		s, err := client.Session(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello %s", s.User["name"])
	})
	return client.AuthMiddleware(&monocloud.MiddlewareOptions{
		ProtectedRoutes: monocloud.Protect(`^/profile$`),
	})(mux)
}
