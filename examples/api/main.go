// Command api is a JSON API protected with access tokens: each route asks
// for its own scopes or groups, and the handlers read the token's claims.
//
// It is configured by the environment:
//
//	MONOCLOUD_BACKEND_TENANT_DOMAIN  your MonoCloud tenant (or any OpenID provider's issuer)
//	MONOCLOUD_BACKEND_AUDIENCE       this API's identifier, e.g. https://api.example.com
//	MONOCLOUD_BACKEND_CLIENT_ID      optional: to introspect opaque tokens
//	MONOCLOUD_BACKEND_CLIENT_SECRET  optional: to introspect opaque tokens
//	ADDR                             listen address (default 127.0.0.1:8081)
//
// Try it with a token for the audience:
//
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/api/orders
package main

import (
	"cmp"
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/monocloud/auth-go/backend"
)

func main() {
	// Every option comes from the MONOCLOUD_BACKEND_* variables.
	api, err := backend.New(backend.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// Fail at start-up, not at the first request, if the tenant is wrong.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.Discover(ctx); err != nil {
		log.Printf("provider not ready (requests will retry): %v", err)
	}
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8081")
	log.Printf("listening on http://%s", addr)
	srv := &http.Server{Addr: addr, Handler: routes(api), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
