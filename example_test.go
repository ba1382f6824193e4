package monocloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
)

// The GetTokens examples mirror the getTokens examples of the Next.js SDK's
// documentation. The SDK's overloads map to Go like this:
//
//	getTokens()          → GetTokens(r.Context(), opts), under AuthMiddleware or Handler
//	getTokens(req)       → GetTokensFromRequest(r, opts)
//	getTokens(req, res)  → GetTokensWithResponse(w, r, opts)
//
// The package-level functions use the client serving the request, else
// Default() (built from the MONOCLOUD_AUTH_* environment); the methods of
// the same names on *Client use that client.

func ExampleNew() {
	// With no fields set, New reads MONOCLOUD_AUTH_TENANT_DOMAIN,
	// MONOCLOUD_AUTH_CLIENT_ID, MONOCLOUD_AUTH_CLIENT_SECRET,
	// MONOCLOUD_AUTH_APP_URL, MONOCLOUD_AUTH_COOKIE_SECRET and the optional
	// MONOCLOUD_AUTH_* settings from the environment.
	client, err := monocloud.New(monocloud.Options{})
	if err != nil {
		// A *monocloud.ValidationError names the field and its variable,
		// e.g. "monocloud: ClientID (MONOCLOUD_AUTH_CLIENT_ID): is required".
		log.Fatal(err)
	}
	_ = client

	// Fields that are set win over the environment.
	client, err = monocloud.New(monocloud.Options{
		TenantDomain: "acme.us.monocloud.com", // https:// is added
		ClientID:     "my-client-id",
		ClientSecret: "my-client-secret",
		AppURL:       "https://app.example.com",
		CookieSecret: "a long random string, such as the output of openssl rand -hex 32",
		DefaultAuthParams: monocloud.AuthParams{
			Scopes: "openid profile email",
		},
		// Also request tokens for these APIs at sign-in, so that GetTokens
		// can get one for each later.
		Resources: []monocloud.Indicator{
			{Resource: "https://api.example.com", Scopes: "read:orders"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = client
}

func ExampleClient_AuthMiddleware() {
	client, err := monocloud.New(monocloud.Options{})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "public home page; signed in:", client.IsAuthenticated(r.Context()))
	})
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "dashboard") })
	mux.HandleFunc("GET /admin/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "admin") })
	mux.HandleFunc("GET /api/orders", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "[]") })

	// The middleware serves the auth routes (/api/auth/signin, /callback,
	// /signout, /userinfo, /backchannel-logout) and protects the routes
	// listed; the first matching entry decides. Without a session, pages
	// redirect to sign-in and /api routes get 401 JSON; without a required
	// group, 403.
	protect := client.AuthMiddleware(&monocloud.MiddlewareOptions{
		ProtectedRoutes: append(
			monocloud.Protect(`^/dashboard$`, `^/api/`),
			monocloud.ProtectedRoute{
				Pattern:    regexp.MustCompile(`^/admin/`),
				GroupCheck: monocloud.GroupCheck{Groups: []string{"admin", "support"}}, // any one of them
			},
		),
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", protect(mux)))
}

// A page that renders whether the access token has expired, as the SDK's
// server component does.
func ExampleGetTokens() {
	page := template.Must(template.New("home").Parse(`<div>Expired: {{.IsExpired}}</div>`))

	home := func(w http.ResponseWriter, r *http.Request) {
		tokens, err := monocloud.GetTokens(r.Context(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_ = page.Execute(w, tokens)
	}

	client, err := monocloud.New(monocloud.Options{})
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", client.AuthMiddleware(nil)(http.HandlerFunc(home))))
}

// An action: a function called by handlers that reads the tokens of the
// request in ctx, like the SDK's server action.
func ExampleGetTokens_action() {
	getExpiredAction := func(ctx context.Context) (map[string]bool, error) {
		tokens, err := monocloud.GetTokens(ctx, nil)
		if err != nil {
			return nil, err
		}
		return map[string]bool{"expired": tokens.IsExpired}, nil
	}

	http.HandleFunc("POST /actions/expired", func(w http.ResponseWriter, r *http.Request) {
		result, err := getExpiredAction(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(result)
	})
}

// An API route answering JSON, like the SDK's route handler.
func ExampleGetTokens_apiRoute() {
	http.HandleFunc("GET /api/expired", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := monocloud.GetTokens(r.Context(), nil)
		if err != nil {
			http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]bool{"expired": tokens.IsExpired})
	})
}

// Middleware that stops requests whose access token has expired and could
// not be refreshed, like the SDK's proxy (Next.js middleware). It runs
// inside AuthMiddleware, which puts the request's auth state in its context.
func ExampleGetTokens_middleware() {
	tokensValid := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tokens, err := monocloud.GetTokens(r.Context(), nil)
			if err != nil || tokens.IsExpired {
				http.Error(w, "Tokens expired", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}

	client, err := monocloud.New(monocloud.Options{})
	if err != nil {
		log.Fatal(err)
	}
	handler := client.AuthMiddleware(nil)(tokensValid(http.DefaultServeMux))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", handler))
}

// GetTokens refreshes the default token when it has expired (or is about
// to); ForceRefresh refreshes it even when it has not.
func ExampleGetTokens_forceRefresh() {
	http.HandleFunc("GET /api/token", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := monocloud.GetTokens(r.Context(), &monocloud.GetTokensOptions{ForceRefresh: true})
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"accessToken": tokens.AccessToken})
	})
}

// An access token for one or more resources (RFC 8707) and scopes. They must
// have been requested at sign-in (Options.Resources or
// DefaultAuthParams), so that the session may mint that token.
func ExampleGetTokens_resource() {
	http.HandleFunc("GET /api/token", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := monocloud.GetTokens(r.Context(), &monocloud.GetTokensOptions{
			Resource: "https://first.example.com https://second.example.com",
			Scopes:   "read:first read:second shared",
		})
		var validation *monocloud.ValidationError
		switch {
		case errors.Is(err, monocloud.ErrNoSession):
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		case errors.As(err, &validation):
			http.Error(w, validation.Message, http.StatusBadRequest)
			return
		case err != nil: // *OPError, *HTTPError, *TokenError
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"accessToken": tokens.AccessToken})
	})
}

// The explicit request form, for middleware that runs outside
// AuthMiddleware (like the SDK's proxy(req)). It reads the session cookie
// itself; a refreshed session is not sent to the browser from here (use
// GetTokensWithResponse for that), but the next request reuses the refresh.
func ExampleGetTokensFromRequest() {
	tokensValid := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tokens, err := monocloud.GetTokensFromRequest(r, nil)
			if err != nil || tokens.IsExpired {
				http.Error(w, "Tokens expired", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", tokensValid(http.DefaultServeMux)))
}

// The explicit request form in a route handler.
func ExampleGetTokensFromRequest_apiRoute() {
	http.HandleFunc("GET /api/expired", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := monocloud.GetTokensFromRequest(r, nil)
		if err != nil {
			http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]bool{"expired": tokens.IsExpired})
	})
}

// The request and response form: a refreshed session is written to w as
// Set-Cookie, so call it before the response header is written. Here in
// middleware that annotates the response, like the SDK's proxy(req) with
// NextResponse.next().
func ExampleGetTokensWithResponse() {
	tokensHeader := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tokens, err := monocloud.GetTokensWithResponse(w, r, nil)
			if err != nil {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			w.Header().Set("X-Tokens-Expired", strconv.FormatBool(tokens.IsExpired))
			next.ServeHTTP(w, r)
		})
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", tokensHeader(http.DefaultServeMux)))
}

// A route handler with its own body that reports the auth status in a
// header.
func ExampleGetTokensWithResponse_header() {
	http.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := monocloud.GetTokensWithResponse(w, r, nil)
		if err == nil && !tokens.IsExpired {
			w.Header().Set("X-Auth-Status", "active")
		}
		_, _ = io.WriteString(w, "Custom Body")
	})
}

// A server-rendered page showing the tokens, like the SDK's
// getServerSideProps example.
func ExampleGetTokensWithResponse_page() {
	page := template.Must(template.New("tokens").Parse(`<pre>Tokens: {{.}}</pre>`))

	http.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := monocloud.GetTokensWithResponse(w, r, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		js, _ := json.MarshalIndent(tokens, "", "  ")
		_ = page.Execute(w, string(js)) // html/template escapes it
	})
}

// An API handler, like the SDK's Pages Router API route.
func ExampleGetTokensWithResponse_apiHandler() {
	http.HandleFunc("GET /api/token", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := monocloud.GetTokensWithResponse(w, r, nil)
		if err != nil {
			http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"accessToken": tokens.AccessToken})
	})
}

// A complete round trip: an app signs a user in at an OpenID provider and
// reads the user's tokens. The provider here is a test provider that signs
// the user in without a login page.
func ExampleClient_GetTokens() {
	op, stop := startExampleProvider()
	defer stop()

	app := httptest.NewUnstartedServer(nil) // its URL is needed to configure the client
	appURL := "http://" + app.Listener.Addr().String()
	client, err := monocloud.New(monocloud.Options{
		TenantDomain: op.Issuer(),
		ClientID:     "test-client",
		ClientSecret: "test-secret",
		AppURL:       appURL,
		CookieSecret: "an example secret; use 32 random bytes",
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := client.GetTokens(r.Context(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "expired: %v, scopes: %s, refresh token: %v", tokens.IsExpired, tokens.Scopes, tokens.RefreshToken != "")
	})
	app.Config.Handler = client.AuthMiddleware(nil)(mux)
	app.Start()
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	fmt.Println(fetch(browser, appURL+"/api/auth/userinfo")) // 204: no session yet
	fetch(browser, appURL+"/api/auth/signin")                // to the provider and back
	fmt.Println(fetch(browser, appURL+"/tokens"))

	// Output:
	// 204
	// 200 expired: false, scopes: openid profile email, refresh token: true
}

// fetch GETs u, following redirects, and returns the status and body.
func fetch(c *http.Client, u string) string {
	resp, err := c.Get(u)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if len(body) == 0 {
		return strconv.Itoa(resp.StatusCode)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		_, title, _ := strings.Cut(string(body), "<title>")
		title, _, _ = strings.Cut(title, "</title>")
		return strconv.Itoa(resp.StatusCode) + " page: " + title
	}
	return strconv.Itoa(resp.StatusCode) + " " + strings.TrimSpace(string(body))
}

// startExampleProvider starts monocloudtest's provider outside a test.
func startExampleProvider() (op *monocloudtest.Provider, stop func()) {
	t := &exampleT{}
	return monocloudtest.NewProvider(t, monocloudtest.Config{}), t.cleanup
}

// exampleT is a monocloudtest.TestingT for code that runs outside a test,
// such as an Example: a failure panics, cleanups run when cleanup is called.
type exampleT struct{ cleanups []func() }

func (t *exampleT) Helper()          {}
func (t *exampleT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
