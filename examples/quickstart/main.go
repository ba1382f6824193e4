// Command quickstart is the smallest complete auth-go application: sign-in
// and sign-out, a protected page, a page for the admin group, the user's
// tokens, and a JSON API of its own that a page calls with the user's
// access token.
//
// It is configured entirely by the environment:
//
//	MONOCLOUD_AUTH_TENANT_DOMAIN   your MonoCloud tenant (or any OpenID provider's issuer)
//	MONOCLOUD_AUTH_CLIENT_ID       the application's client ID
//	MONOCLOUD_AUTH_CLIENT_SECRET   the application's client secret
//	MONOCLOUD_AUTH_APP_URL         where this app is reached, e.g. http://127.0.0.1:8080
//	MONOCLOUD_AUTH_COOKIE_SECRET   a long random string, e.g. `openssl rand -hex 32`
//	ADDR                           listen address (default 127.0.0.1:8080)
//	EXAMPLE_RESOURCES              optional APIs to get tokens for:
//	                               "https://api.example.com=read:api,https://other.example.com=read:other"
//	EXAMPLE_API_RESOURCE           optional: one of EXAMPLE_RESOURCES, the app's own
//	                               API, served at /api/orders and called by /orders
//	                               (MONOCLOUD_BACKEND_* variables configure it further)
//
// Register http://127.0.0.1:8080/api/auth/callback as the application's
// callback URL and http://127.0.0.1:8080 (MONOCLOUD_AUTH_APP_URL exactly)
// as its sign-out URL. To try it without an account, run ./scripts/demo.sh:
// it starts a local OpenID provider and this program.
package main

import (
	"cmp"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/examples/quickstart/app"
)

func main() {
	resources, err := app.ParseResources(os.Getenv("EXAMPLE_RESOURCES"))
	if err != nil {
		log.Fatalf("EXAMPLE_RESOURCES: %v", err)
	}
	// Every other option comes from the MONOCLOUD_AUTH_* variables.
	client, err := monocloud.New(monocloud.Options{Resources: resources})
	if err != nil {
		log.Fatal(err)
	}
	var api *app.API
	if resource := os.Getenv("EXAMPLE_API_RESOURCE"); resource != "" {
		// The API trusts the app's provider; other options come from the
		// MONOCLOUD_BACKEND_* variables.
		validator, err := backend.New(backend.Options{TenantDomain: client.Options().TenantDomain, Audience: resource})
		if err != nil {
			log.Fatal(err)
		}
		api = &app.API{Client: validator, Resource: resource}
	}
	handler, err := app.New(client, api)
	if err != nil {
		log.Fatalf("EXAMPLE_API_RESOURCE: %v", err)
	}

	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("quickstart listening on http://%s", ln.Addr())
	log.Fatal(srv.Serve(ln))
}
