package monocloudtest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
)

// These Examples are written as tests of an application would be. In a
// test, pass the *testing.T where they pass exampleT, and call t.Fatal
// where they call log.Fatal.

// newClient returns a Client of an app at http://app.test that signs in
// with op.
func newClient(op *monocloudtest.Provider) *monocloud.Client {
	client, err := monocloud.New(monocloud.Options{
		TenantDomain: op.Issuer(),
		ClientID:     "test-client", // the provider's default client
		ClientSecret: "test-secret",
		AppURL:       "http://app.test",
		CookieSecret: "a test secret of at least 32 characters",
	})
	if err != nil {
		log.Fatal(err)
	}
	return client
}

// A table test of a page protected by group: each case mints a session for
// its user with EncodeSession, without a sign-in flow.
func Example() {
	t := &exampleT{}
	defer t.cleanup()
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	client := newClient(op)

	admins := client.ProtectPage(&monocloud.ProtectOptions{GroupCheck: monocloud.GroupCheck{Groups: []string{"admin"}}})
	admin := admins(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := client.Session(r.Context())
		fmt.Fprint(w, "welcome, ", s.User["name"])
	}))

	for _, tc := range []struct {
		name string
		user monocloud.User // nil: signed out
	}{
		{"admin", monocloud.User{"sub": "u-1", "name": "Ada", "groups": []any{"admin"}}},
		{"staff", monocloud.User{"sub": "u-2", "name": "Bob", "groups": []any{"staff"}}},
		{"signed out", nil},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://app.test/admin", nil)
		if tc.user != nil {
			cookies, err := client.EncodeSession(context.Background(), &monocloud.Session{User: tc.user})
			if err != nil {
				log.Fatal(err)
			}
			for _, ck := range cookies {
				r.AddCookie(ck)
			}
		}
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, r)
		fmt.Println(tc.name+":", answer(w.Result()))
	}
	// Output:
	// admin: 200 welcome, Ada
	// staff: 403 page: Access denied
	// signed out: 307 to http://app.test/api/auth/signin?return_url=%2Fadmin
}

// API routes protected by group in AuthMiddleware, tested with minted
// sessions.
func Example_authMiddleware() {
	t := &exampleT{}
	defer t.cleanup()
	client := newClient(monocloudtest.NewProvider(t, monocloudtest.Config{}))

	app := client.AuthMiddleware(&monocloud.MiddlewareOptions{
		ProtectedRoutes: []monocloud.ProtectedRoute{{
			Pattern:    regexp.MustCompile(`^/api/reports$`),
			GroupCheck: monocloud.GroupCheck{Groups: []string{"finance"}},
		}},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `["q1"]`)
	}))

	get := func(user monocloud.User) {
		r := httptest.NewRequest(http.MethodGet, "http://app.test/api/reports", nil)
		if user != nil {
			cookies, err := client.EncodeSession(context.Background(), &monocloud.Session{User: user})
			if err != nil {
				log.Fatal(err)
			}
			for _, ck := range cookies {
				r.AddCookie(ck)
			}
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		fmt.Println(answer(w.Result()))
	}
	get(monocloud.User{"sub": "u-1", "groups": []any{"finance"}})
	get(monocloud.User{"sub": "u-2", "groups": []any{"sales"}})
	get(nil)
	// Output:
	// 200 ["q1"]
	// 403 {"message":"forbidden"}
	// 401 {"message":"unauthorized"}
}

// A full sign-in against the provider: the app's sign-in route redirects to
// the provider, Provider.Authorize plays the user and returns the callback
// URL, and the callback sets the session cookie.
func Example_signIn() {
	t := &exampleT{}
	defer t.cleanup()
	op := monocloudtest.NewProvider(t, monocloudtest.Config{
		Subject: "u-1",
		Claims:  map[string]any{"name": "Ada", "groups": []any{"admin"}},
	})
	client := newClient(op)
	app := client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := client.Session(r.Context())
		fmt.Fprintf(w, "%s is an admin: %v", s.User["name"], client.IsUserInGroup(r.Context(), monocloud.GroupCheck{Groups: []string{"admin"}}))
	}))
	serve := func(rawURL string, cookies []*http.Cookie) *http.Response {
		r := httptest.NewRequest(http.MethodGet, rawURL, nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return w.Result()
	}

	signIn := serve("http://app.test/api/auth/signin", nil)
	callback := op.Authorize(t, signIn.Header.Get("Location"))
	signedIn := serve(callback.String(), signIn.Cookies()) // the state cookie
	page := serve("http://app.test/", signedIn.Cookies())  // the session cookie

	fmt.Println("callback:", answer(signedIn))
	fmt.Println("page:", answer(page))
	// Output:
	// callback: 307 to http://app.test
	// page: 200 Ada is an admin: true
}

// answer returns resp's status and where it redirects, or its body.
func answer(resp *http.Response) string {
	if loc := resp.Header.Get("Location"); loc != "" {
		return fmt.Sprint(resp.StatusCode, " to ", loc)
	}
	body, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		_, title, _ := strings.Cut(string(body), "<title>")
		title, _, _ = strings.Cut(title, "</title>")
		return fmt.Sprint(resp.StatusCode, " page: ", title)
	}
	return fmt.Sprint(resp.StatusCode, " ", strings.TrimSpace(string(body)))
}

// exampleT is a monocloudtest.TestingT for Examples, which have no
// *testing.T: a failure panics, and cleanup runs the cleanups.
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
