package monocloud_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/monocloudtest/memstore"
)

// The Examples in this file run whole apps against monocloudtest's
// provider, which signs its user in without a login page.

// exampleApp is an app served by a Client against monocloudtest's provider,
// with a browser that keeps cookies and follows redirects.
type exampleApp struct {
	url     string
	browser *http.Client
	stop    func()
}

// startExampleApp starts the provider (its user has the given claims) and
// an app whose handler build makes from a client configured by opts.
func startExampleApp(claims map[string]any, opts monocloud.Options, build func(*monocloud.Client) http.Handler) *exampleApp {
	t := &exampleT{}
	op := monocloudtest.NewProvider(t, monocloudtest.Config{Claims: claims})
	srv := httptest.NewUnstartedServer(nil)
	opts.TenantDomain = op.Issuer()
	opts.ClientID, opts.ClientSecret = "test-client", "test-secret"
	opts.AppURL = "http://" + srv.Listener.Addr().String()
	opts.CookieSecret = "an example secret; use 32 random bytes"
	client, err := monocloud.New(opts)
	if err != nil {
		log.Fatal(err)
	}
	srv.Config.Handler = build(client)
	srv.Start()
	jar, _ := cookiejar.New(nil)
	return &exampleApp{url: opts.AppURL, browser: &http.Client{Jar: jar}, stop: func() { srv.Close(); t.cleanup() }}
}

// get GETs path with the browser and prints the status and body.
func (a *exampleApp) get(path string) {
	fmt.Println(path+":", fetch(a.browser, a.url+path))
}

// An app that mounts the auth routes on its own mux and reads the session
// in its handlers with the (w, r) helpers, without the middleware.
func ExampleClient_Handler() {
	app := startExampleApp(map[string]any{"name": "Ada"}, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", client.Handler())
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			s, err := client.SessionWithResponse(w, r)
			if err != nil {
				fmt.Fprint(w, "hello, guest")
				return
			}
			fmt.Fprint(w, "hello, ", s.User.Name())
		})
		return mux
	})
	defer app.stop()

	app.get("/")
	app.get("/api/auth/signin") // to the provider and back to /
	// Output:
	// /: 200 hello, guest
	// /api/auth/signin: 200 hello, Ada
}

// Routes that require a group: the user is in "staff", not in "admin".
func ExampleClient_AuthMiddleware_groups() {
	app := startExampleApp(map[string]any{"groups": []any{"staff"}}, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page ", r.URL.Path) })
		return client.AuthMiddleware(&monocloud.MiddlewareOptions{
			ProtectedRoutes: []monocloud.ProtectedRoute{
				{Pattern: regexp.MustCompile(`^/admin/`), GroupCheck: monocloud.GroupCheck{Groups: []string{"admin"}}},
				{Pattern: regexp.MustCompile(`^/team/`), GroupCheck: monocloud.GroupCheck{Groups: []string{"admin", "staff"}}},
				{Pattern: regexp.MustCompile(`^/api/`)},
			},
		})(mux)
	})
	defer app.stop()

	app.get("/api/orders") // no session yet
	app.get("/api/auth/signin")
	app.get("/team/")
	app.get("/admin/")
	// Output:
	// /api/orders: 401 {"message":"unauthorized"}
	// /api/auth/signin: 200 page /
	// /team/: 200 page /team/
	// /admin/: 403 page: Access denied
}

// ProtectAPI and ProtectPage are middleware: here each wraps one handler,
// without AuthMiddleware.
func ExampleClient_ProtectAPI() {
	app := startExampleApp(nil, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", client.Handler())
		mux.Handle("GET /api/orders", client.ProtectAPI(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "[]")
		})))
		mux.Handle("GET /account", client.ProtectPage(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "your account")
		})))
		return mux
	})
	defer app.stop()

	app.get("/api/orders") // 401 without a session
	app.get("/account")    // to sign-in, the provider, and back to /account
	app.get("/api/orders")
	// Output:
	// /api/orders: 401 {"message":"unauthorized"}
	// /account: 200 your account
	// /api/orders: 200 []
}

// A handler keeps application data in the session with UpdateSession; later
// requests read it with Session.
func ExampleClient_UpdateSession() {
	app := startExampleApp(nil, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /theme/{name}", func(w http.ResponseWriter, r *http.Request) {
			s, err := client.Session(r.Context())
			if err != nil {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			if s.Extra == nil {
				s.Extra = map[string]any{}
			}
			s.Extra["theme"] = r.PathValue("name")
			if err := client.UpdateSession(r.Context(), s); err != nil {
				http.Error(w, "could not save", http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, "saved")
		})
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			s, err := client.Session(r.Context())
			if err != nil {
				fmt.Fprint(w, "guest")
				return
			}
			fmt.Fprint(w, "theme: ", s.Extra["theme"])
		})
		return client.AuthMiddleware(&monocloud.MiddlewareOptions{ProtectedRoutes: monocloud.Protect(`^/theme/`)})(mux)
	})
	defer app.stop()

	app.get("/api/auth/signin")
	app.get("/theme/dark")
	app.get("/")
	// Output:
	// /api/auth/signin: 200 theme: <nil>
	// /theme/dark: 200 saved
	// /: 200 theme: dark
}

// Sessions kept server-side: the cookie holds only a key. The store here
// is the in-memory one of package memstore, for tests; a real one is shared
// by the app's instances, such as the Redis store of package redisstore.
func ExampleSessionStore() {
	store := memstore.New()
	app := startExampleApp(nil, monocloud.Options{Session: monocloud.SessionOptions{Store: store}}, func(client *monocloud.Client) http.Handler {
		public := &monocloud.MiddlewareOptions{ProtectedRoutes: []monocloud.ProtectedRoute{}}
		return client.AuthMiddleware(public)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := client.Session(r.Context())
			if err != nil {
				fmt.Fprint(w, "signed out")
				return
			}
			fmt.Fprint(w, "signed in as ", s.User.Subject())
		}))
	})
	defer app.stop()

	app.get("/api/auth/signin")
	fmt.Println("sessions in the store:", len(store.Keys()))
	app.get("/api/auth/signout")
	fmt.Println("sessions in the store:", len(store.Keys()))
	// Output:
	// /api/auth/signin: 200 signed in as user-1
	// sessions in the store: 1
	// /api/auth/signout: 200 signed out
	// sessions in the store: 0
}

// A handler calls a downstream API as the user: APIClient adds the user's
// current access token, refreshed when needed, as a Bearer token.
func ExampleClient_APIClient() {
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Get("Authorization")) < len("Bearer x") {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `["order 1"]`)
	}))
	defer downstream.Close()

	app := startExampleApp(nil, monocloud.Options{}, func(client *monocloud.Client) http.Handler {
		return client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := client.APIClient(r.Context(), nil).Get(downstream.URL)
			if err != nil {
				http.Error(w, "orders unavailable", http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			fmt.Fprint(w, "orders: ", string(body))
		}))
	})
	defer app.stop()

	app.get("/api/auth/signin")
	// Output:
	// /api/auth/signin: 200 orders: ["order 1"]
}
