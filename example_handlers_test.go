package monocloud_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	monocloud "github.com/monocloud/auth-go"
)

// A sign-up link: the handler asks the provider for its sign-up page and
// returns the new user to a welcome page.
func ExampleClient_SignInHandler() {
	app := startExampleApp(nil, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", client.Handler())
		mux.Handle("GET /signup", client.SignInHandler(&monocloud.SignInOptions{
			Register:  true, // prompt=create
			ReturnURL: "/welcome",
		}))
		mux.HandleFunc("GET /welcome", func(w http.ResponseWriter, r *http.Request) {
			s, err := client.SessionWithResponse(w, r)
			if err != nil {
				http.Error(w, "not signed in", http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, "welcome, ", s.User.Subject())
		})
		return mux
	})
	defer app.stop()

	app.get("/signup") // to the provider's sign-up page and back to /welcome
	// Output:
	// /signup: 200 welcome, user-1
}

// A second callback URL, for a sign-in that must return elsewhere (it must
// be registered at the provider too). The sign-in sends it, and the code
// is exchanged with it.
func ExampleClient_CallbackHandler() {
	app := startExampleApp(nil, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /partner/signin", client.SignInHandler(&monocloud.SignInOptions{
			RedirectURI: "/partner/callback",
			ReturnURL:   "/partner",
		}))
		mux.Handle("/partner/callback", client.CallbackHandler(&monocloud.CallbackOptions{
			RedirectURI: "/partner/callback",
			UserInfo:    new(false), // the ID token's claims are enough here
		}))
		mux.HandleFunc("GET /partner", func(w http.ResponseWriter, r *http.Request) {
			_, err := client.SessionWithResponse(w, r)
			fmt.Fprint(w, "signed in: ", err == nil)
		})
		return mux
	})
	defer app.stop()

	app.get("/partner/signin")
	// Output:
	// /partner/signin: 200 signed in: true
}

// A userinfo endpoint that always asks the provider for the user's current
// claims, beside the route that answers those of the session.
func ExampleClient_UserInfoHandler() {
	app := startExampleApp(map[string]any{"name": "Ada"}, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", client.Handler())
		mux.Handle("GET /api/me", client.UserInfoHandler(&monocloud.UserInfoOptions{RefetchUserInfo: new(true)}))
		return mux
	})
	defer app.stop()

	app.get("/api/me") // no session
	app.browser.Get(app.url + "/api/auth/signin")
	resp, err := app.browser.Get(app.url + "/api/me")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var user monocloud.User
	if err := json.NewDecoder(resp.Body).Decode(&user); err != nil {
		log.Fatal(err)
	}
	fmt.Println("/api/me:", resp.StatusCode, user["name"], user.Subject())
	// Output:
	// /api/me: 204
	// /api/me: 200 Ada user-1
}

// A sign-out that ends only the app's session, not the provider's, and
// returns to a page of its own.
func ExampleClient_SignOutHandler() {
	app := startExampleApp(nil, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", client.Handler())
		mux.Handle("GET /leave", client.SignOutHandler(&monocloud.SignOutOptions{
			FederatedSignOut:      new(false),
			PostLogoutRedirectURI: "/goodbye",
		}))
		mux.HandleFunc("GET /goodbye", func(w http.ResponseWriter, r *http.Request) {
			_, err := client.SessionWithResponse(w, r)
			fmt.Fprint(w, "signed in: ", err == nil)
		})
		return mux
	})
	defer app.stop()

	app.browser.Get(app.url + "/api/auth/signin")
	app.get("/leave")
	// Output:
	// /leave: 200 signed in: false
}

// Options shows what the client runs with, environment and defaults
// applied.
func ExampleClient_Options() {
	client, err := monocloud.New(monocloud.Options{
		TenantDomain: "acme.us.monocloud.com",
		ClientID:     "my-client-id",
		ClientSecret: "my-client-secret",
		AppURL:       "https://app.example.com",
		CookieSecret: "a long random string, such as the output of openssl rand -hex 32",
	})
	if err != nil {
		log.Fatal(err)
	}
	o := client.Options()
	fmt.Println(o.TenantDomain)
	fmt.Println(o.Routes.Callback, o.DefaultAuthParams.Scopes)
	fmt.Println(o.Session.Duration, *o.Session.Cookie.Secure)
	// Output:
	// https://acme.us.monocloud.com
	// /api/auth/callback openid profile email
	// 24h0m0s true
}

// Group checks inside a handler: under the middleware with the request's
// context, or with the request itself.
func ExampleClient_IsUserInGroup() {
	app := startExampleApp(map[string]any{"groups": []any{"editors"}}, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /article", func(w http.ResponseWriter, r *http.Request) {
			editor := client.IsUserInGroup(r.Context(), monocloud.GroupCheck{Groups: []string{"editors"}})
			admin := client.IsUserInGroup(r.Context(), monocloud.GroupCheck{Groups: []string{"admins"}})
			fmt.Fprintf(w, "edit: %v, delete: %v", editor, admin)
		})
		return client.AuthMiddleware(nil)(mux)
	})
	defer app.stop()

	app.get("/article") // to sign-in, and back
	// Output:
	// /article: 200 edit: true, delete: false
}

// A test of a protected handler with a session minted for a user, without
// a sign-in flow (see package monocloudtest).
func ExampleClient_EncodeSession() {
	client, err := monocloud.New(monocloud.Options{
		TenantDomain: "https://op.example.com", // not called: the session is minted
		ClientID:     "my-client-id",
		ClientSecret: "my-client-secret",
		AppURL:       "http://app.test",
		CookieSecret: "a long random string, such as the output of openssl rand -hex 32",
	})
	if err != nil {
		log.Fatal(err)
	}
	finance := client.ProtectAPI(&monocloud.ProtectOptions{GroupCheck: monocloud.GroupCheck{Groups: []string{"finance"}}})
	page := finance(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "report")
	}))

	for _, groups := range [][]any{{"finance"}, {"sales"}} {
		cookies, err := client.EncodeSession(context.Background(), &monocloud.Session{
			User: monocloud.User{"sub": "u-1", "groups": groups},
		})
		if err != nil {
			log.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "http://app.test/api/report", nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		page.ServeHTTP(w, r)
		fmt.Println(groups, w.Code)
	}
	// Output:
	// [finance] 200
	// [sales] 403
}
