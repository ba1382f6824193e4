package e2e

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	quickstart "github.com/monocloud/auth-go/examples/quickstart/app"
	"github.com/monocloud/auth-go/internal/realop"
)

// TestQuickstartPages signs users in to the quickstart app at the real
// provider, without a browser: /admin is for the admin group only (the
// provider puts login "admin" in it, and no one else), the sign-out link is
// on every signed-in page and on no signed-out one, the groups are a list,
// and /api/tokens names a resource only for a resource's token.
func TestQuickstartPages(t *testing.T) {
	t.Parallel()
	srv := browserNewServer(t)
	secret := browserRandom(t, 24)
	op := realop.Start(t, realop.Config{
		Clients: []realop.Client{{
			ID:                     "quickstart",
			Secret:                 secret,
			RedirectURIs:           []string{srv.url() + "/api/auth/callback"},
			PostLogoutRedirectURIs: []string{srv.url()},
		}},
		AccessTokenTTL: 2 * time.Minute,
	})
	var resources []monocloud.Indicator
	for _, r := range realop.DefaultResources {
		resources = append(resources, monocloud.Indicator{Resource: r.URL, Scopes: r.Scope})
	}
	client, err := monocloud.New(monocloud.Options{
		TenantDomain: op.Issuer(),
		ClientID:     "quickstart",
		ClientSecret: secret,
		AppURL:       srv.url(),
		CookieSecret: browserRandom(t, 32),
		Resources:    resources,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("monocloud.New: %v", err)
	}
	srv.serve(quickstart.New(client, resources))

	get := func(t *testing.T, c *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := flowDo(c, srv.url()+path, "")
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, string(resp.body)
	}
	signOutLink := regexp.MustCompile(`<a id="signout" href="/api/auth/signout">`)
	// signIn signs login in, starting at path, and checks that the browser
	// is sent back there.
	signIn := func(t *testing.T, login, path string) *http.Client {
		t.Helper()
		c := flowBrowser(t)
		resp := op.SignIn(t, c, srv.url()+path, login)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || loc != srv.url()+path {
			t.Fatalf("sign-in of %s at %s ended with %s Location=%q", login, path, resp.Status, loc)
		}
		return c
	}

	t.Run("signed out", func(t *testing.T) {
		c := flowBrowser(t)
		status, body := get(t, c, "/")
		if status != http.StatusOK || signOutLink.MatchString(body) {
			t.Errorf("GET / signed out: %d, sign-out link shown: %v", status, signOutLink.MatchString(body))
		}
		resp, err := flowDo(c, srv.url()+"/admin", "")
		if err != nil {
			t.Fatal(err)
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(loc, "/api/auth/signin?") {
			t.Errorf("GET /admin signed out: %s Location=%q, want 307 to sign-in", resp.Status, loc)
		}
	})

	t.Run("admin", func(t *testing.T) {
		c := signIn(t, "admin", "/admin")
		status, body := get(t, c, "/admin")
		if status != http.StatusOK || !strings.Contains(body, `id="admin"`) {
			t.Fatalf("GET /admin as admin: %d:\n%s", status, body)
		}
		if want := "<ul id=\"groups\">\n<li>admin</li>\n<li>staff</li>\n</ul>"; !strings.Contains(body, want) {
			t.Errorf("GET /admin: no groups list %q:\n%s", want, body)
		}
		for _, path := range []string{"/", "/admin", "/protected", "/tokens"} {
			status, body := get(t, c, path)
			if status != http.StatusOK || !signOutLink.MatchString(body) {
				t.Errorf("GET %s as admin: %d, sign-out link shown: %v", path, status, signOutLink.MatchString(body))
			}
		}
	})

	t.Run("not in the admin group", func(t *testing.T) {
		c := signIn(t, "alice", "/protected")
		status, body := get(t, c, "/protected")
		if want := "<ul id=\"groups\">\n<li>staff</li>\n</ul>"; status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /protected as alice: %d, want the groups list %q:\n%s", status, want, body)
		}
		status, body = get(t, c, "/admin")
		if status != http.StatusForbidden || !strings.Contains(body, `id="forbidden"`) || !signOutLink.MatchString(body) {
			t.Errorf("GET /admin as alice: %d, want the 403 page with a sign-out link:\n%s", status, body)
		}
		if strings.Contains(body, `id="admin"`) {
			t.Errorf("GET /admin as alice shows the admin page:\n%s", body)
		}
	})

	t.Run("api tokens", func(t *testing.T) {
		c := signIn(t, "bob", "/tokens")
		for _, tc := range []struct{ query, resource string }{
			{"", ""},
			{"?" + url.Values{"resource": {flowAPIOne.URL}}.Encode(), flowAPIOne.URL},
		} {
			status, body := get(t, c, "/api/tokens"+tc.query)
			var got map[string]any
			if err := json.Unmarshal([]byte(body), &got); status != http.StatusOK || err != nil {
				t.Fatalf("GET /api/tokens%s: %d %v:\n%s", tc.query, status, err, body)
			}
			resource, has := got["resource"]
			if tc.resource == "" && has {
				t.Errorf("GET /api/tokens: has resource %q, want none", resource)
			}
			if tc.resource != "" && resource != tc.resource {
				t.Errorf("GET /api/tokens%s: resource %v, want %s", tc.query, resource, tc.resource)
			}
			for _, key := range []string{"refreshToken", "idToken"} {
				if _, ok := got[key]; ok {
					t.Errorf("GET /api/tokens%s hands out %s", tc.query, key)
				}
			}
		}
	})
}
