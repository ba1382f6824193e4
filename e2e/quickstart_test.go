package e2e

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/e2e/realop"
	quickstart "github.com/monocloud/auth-go/examples/quickstart/app"
)

// TestQuickstartPages signs users in to the quickstart app at the real
// provider, without a browser: /admin is for the admin group only (the
// provider puts login "admin" in it, and no one else), the sign-out link is
// on every signed-in page and on no signed-out one, the groups are a list,
// /api/tokens names a resource only for a resource's token, and the app's
// own API takes the token GetTokens got for it, and nothing else.
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
	apiResource := flowAPIOne.URL // the app serves it at /api/orders
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
	validator, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: apiResource})
	if err != nil {
		t.Fatalf("backend.New: %v", err)
	}
	h, err := quickstart.New(client, &quickstart.API{Client: validator, Resource: apiResource})
	if err != nil {
		t.Fatalf("quickstart.New: %v", err)
	}
	srv.serve(h)

	get := func(t *testing.T, c *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := flowDo(c, srv.url()+path, "")
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, string(resp.body)
	}
	signOutLink := regexp.MustCompile(`<a id="signout" href="/api/auth/signout"`)
	// Federated sign-out is the default: the page offers the local one,
	// and says that it signs the user back in silently.
	signOutHelp := regexp.MustCompile(`(?s)<p id="signout-help">.*<a id="signout-app-only" href="/signout/app-only">.*signs you back in silently`)
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
		if status != http.StatusOK || signOutLink.MatchString(body) || signOutHelp.MatchString(body) {
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
		for _, path := range []string{"/", "/admin", "/protected", "/tokens", "/orders"} {
			status, body := get(t, c, path)
			if status != http.StatusOK || !signOutLink.MatchString(body) || !signOutHelp.MatchString(body) {
				t.Errorf("GET %s as admin: %d, sign-out link shown: %v, explained: %v",
					path, status, signOutLink.MatchString(body), signOutHelp.MatchString(body))
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

	t.Run("orders page calls the API with the user's token", func(t *testing.T) {
		c := signIn(t, "carol", "/orders")
		status, body := get(t, c, "/orders")
		if status != http.StatusOK {
			t.Fatalf("GET /orders: %d:\n%s", status, body)
		}
		for _, want := range []string{
			`<span id="api-status">200 OK</span>`,
			`<strong id="api-user">carol</strong>`,
			`<td id="api-resource">` + apiResource + `</td>`,
			`<table class="list" id="orders">`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("GET /orders: no %s:\n%s", want, body)
			}
		}
	})

	t.Run("the API takes only a token for it", func(t *testing.T) {
		c := signIn(t, "dave", "/tokens")
		tokenFor := func(query string) string {
			t.Helper()
			status, body := get(t, c, "/api/tokens"+query)
			var tok struct{ AccessToken string }
			if err := json.Unmarshal([]byte(body), &tok); status != http.StatusOK || err != nil || tok.AccessToken == "" {
				t.Fatalf("GET /api/tokens%s: %d %v:\n%s", query, status, err, body)
			}
			return tok.AccessToken
		}
		callAPI := func(c *http.Client, token string) (*http.Response, string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodGet, srv.url()+"/api/orders", nil)
			if err != nil {
				t.Fatal(err)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("GET /api/orders: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return resp, string(body)
		}

		resp, body := callAPI(c, tokenFor("?"+url.Values{"resource": {apiResource}}.Encode()))
		var answer struct {
			Sub    string
			Scopes []string
			Orders []map[string]any
		}
		if err := json.Unmarshal([]byte(body), &answer); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /api/orders with the API's token: %s %v:\n%s", resp.Status, err, body)
		}
		if answer.Sub != "dave" || !slices.Contains(answer.Scopes, flowAPIOne.Scope) || len(answer.Orders) == 0 {
			t.Errorf("GET /api/orders with the API's token: %+v, want dave's orders with scope %s", answer, flowAPIOne.Scope)
		}

		for _, tc := range []struct {
			name   string
			client *http.Client
			token  string
		}{
			{"the session cookie alone", c, ""},
			{"the default access token", http.DefaultClient, tokenFor("")},
			{"a token for another API", http.DefaultClient, tokenFor("?" + url.Values{"resource": {realop.DefaultResources[1].URL}}.Encode())},
		} {
			resp, body := callAPI(tc.client, tc.token)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("GET /api/orders with %s: %s WWW-Authenticate=%q, want 401 with a Bearer challenge:\n%s",
					tc.name, resp.Status, resp.Header.Get("WWW-Authenticate"), body)
			}
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
