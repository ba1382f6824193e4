package apptest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/monocloudtest/apptest"
)

// startApp serves, on a test server, an application protected by the
// middleware of a Client that NewClient built for op, whose page names the
// signed-in user and whether they are an admin.
func startApp(t *testing.T, op *monocloudtest.Provider) (*httptest.Server, *monocloud.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	client := apptest.NewClient(t, op, "http://"+srv.Listener.Addr().String(), nil)
	srv.Config.Handler = client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := client.Session(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		admin := client.IsUserInGroup(r.Context(), monocloud.GroupCheck{Groups: []string{"admin"}})
		fmt.Fprintf(w, "%s admin=%v", s.User["name"], admin)
	}))
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, client
}

// TestSignInIgnoresTheShell: with MONOCLOUD_AUTH_* variables in the
// environment that would break New or move its routes, NewClient still
// builds a Client with the defaults, and SignIn signs the provider's user
// in through them.
func TestSignInIgnoresTheShell(t *testing.T) {
	t.Setenv("MONOCLOUD_AUTH_SCOPES", "profile") // without openid: refused if read
	t.Setenv("MONOCLOUD_AUTH_SIGNIN_URL", "/elsewhere")
	t.Setenv("MONOCLOUD_AUTH_COOKIE_SECRET", "short")
	op := monocloudtest.NewProvider(t, monocloudtest.Config{
		Subject: "u-1",
		Claims:  map[string]any{"name": "Ada", "groups": []any{"admin"}},
	})
	srv, _ := startApp(t, op)

	browser := apptest.SignIn(t, op, srv.URL+"/api/auth/signin")

	resp, err := browser.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "Ada admin=true" {
		t.Errorf("signed-in page: %s %q, want 200 \"Ada admin=true\"", resp.Status, body)
	}
	if scope := op.LastAuthorizeRequest().Get("scope"); scope != "openid profile email" {
		t.Errorf("requested scope %q, want the default, not the environment's", scope)
	}
	app, _ := url.Parse(srv.URL)
	if len(browser.Jar.Cookies(app)) == 0 {
		t.Error("the returned client's jar holds no cookie for the app")
	}
}

// TestNewClientKeepsOptions: the options passed to NewClient apply, but for
// the provider's and the app's.
func TestNewClientKeepsOptions(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	client := apptest.NewClient(t, op, "http://app.test", &monocloud.Options{
		ClientID: "ignored",
		Routes:   monocloud.Routes{SignIn: "/login"},
	})
	if got := client.SignInURL("", nil); !strings.HasPrefix(got, "http://app.test/login") {
		t.Errorf("SignInURL = %q, want the /login route of the app", got)
	}
}

// fatalT is a monocloudtest.TestingT that records the failure of the
// function it is handed to, which then stops.
type fatalT struct{ message string }

func (t *fatalT) Helper()        {}
func (t *fatalT) Cleanup(func()) {}
func (t *fatalT) Fatalf(format string, args ...any) {
	t.message = fmt.Sprintf(format, args...)
	panic(t)
}

// failure runs f with a fatalT and returns its failure message.
func failure(f func(monocloudtest.TestingT)) (message string) {
	ft := &fatalT{}
	defer func() {
		if r := recover(); r != nil && r != ft {
			panic(r)
		}
		message = ft.message
	}()
	f(ft)
	return ""
}

// TestSignInFailsOnAFailedStep: a sign-in that does not redirect at every
// step fails the test, naming the step.
func TestSignInFailsOnAFailedStep(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	srv, _ := startApp(t, op)

	msg := failure(func(ft monocloudtest.TestingT) { apptest.SignIn(ft, op, srv.URL+"/no-such-route") })
	if !strings.Contains(msg, "sign-in route") {
		t.Errorf("SignIn at a page that is not the sign-in route failed with %q, want the sign-in route named", msg)
	}

	op.SetAuthorizeError("access_denied", "the user said no")
	msg = failure(func(ft monocloudtest.TestingT) { apptest.SignIn(ft, op, srv.URL+"/api/auth/signin") })
	if !strings.Contains(msg, "callback") {
		t.Errorf("SignIn refused by the provider failed with %q, want the callback named", msg)
	}
}
