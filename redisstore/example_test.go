package redisstore_test

import (
	"log"
	"net/http"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every instance of the application uses the same CookieSecret and the same
// Redis: a session signed in on one instance is served by all of them, and
// GetTokens runs each refresh grant once across them.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()

	client, err := monocloud.New(monocloud.Options{
		TenantDomain: "acme.us.monocloud.com",
		ClientID:     "my-client-id",
		ClientSecret: "my-client-secret",
		AppURL:       "https://app.example.com",
		CookieSecret: "a long random string, such as the output of openssl rand -hex 32",
		Session: monocloud.SessionOptions{
			Store: redisstore.New(rdb, nil),
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens, err := client.GetTokens(r.Context(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_ = tokens.AccessToken // call an API with it
	})
	http.Handle("/", client.AuthMiddleware(nil)(api))
	log.Fatal(http.ListenAndServe(":8080", nil))
}
