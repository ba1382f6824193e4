package monocloud

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

// epCallback signs in at app's provider and returns the callback URL the
// browser would follow.
func epCallback(t *testing.T, app *testApp) string {
	t.Helper()
	_, loc := app.startSignIn("/api/auth/signin")
	return app.op.Authorize(t, loc).String()
}

// epGet GETs rawURL with app's browser and header, and returns the answer
// and its body.
func epGet(t *testing.T, app *testApp, rawURL string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := app.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// assertErrorPage fails t unless resp is the HTML error page of status
// with links to each of links, and none of hidden in body.
func assertErrorPage(t *testing.T, resp *http.Response, body string, status int, links []string, hidden ...string) {
	t.Helper()
	if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %q, want a %d page:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), status, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q, want default-src 'none'", csp)
	}
	for _, l := range links {
		if !strings.Contains(body, `href="`+l+`"`) {
			t.Errorf("no link to %s:\n%s", l, body)
		}
	}
	for _, h := range hidden {
		if strings.Contains(body, h) {
			t.Errorf("the page shows %q:\n%s", h, body)
		}
	}
	if strings.Contains(body, "src=") || strings.Contains(body, "<link") {
		t.Errorf("the page loads an asset:\n%s", body)
	}
}

// TestCallbackWithWrongClientSecret: the provider refuses the client at the
// code exchange. The browser gets a 502 page offering a new sign-in, the
// log names the variables to check, and the page none of the details.
func TestCallbackWithWrongClientSecret(t *testing.T) {
	log := &logRecorder{level: 0}
	opts := log.options()
	opts.ClientSecret = "not-the-secret"
	app := newTestApp(t, appConfig{opts: opts})
	resp, body := app.get(epCallback(t, app))
	assertErrorPage(t, resp, body, http.StatusBadGateway, []string{app.url("/api/auth/signin"), app.srv.URL}, "invalid_client", "monocloud:")
	got := log.expectEvent(t, EventCallbackFailed, "monocloud: callback failed", slog.LevelError, map[string]string{"status": "502"})
	for _, want := range []string{"invalid_client", "the provider refused the client credentials", "MONOCLOUD_AUTH_CLIENT_ID", "MONOCLOUD_AUTH_CLIENT_SECRET", "MONOCLOUD_AUTH_CLIENT_AUTH_METHOD"} {
		if !strings.Contains(got["error"], want) {
			t.Errorf("logged error %q does not name %q", got["error"], want)
		}
	}
}

// TestCallbackProviderFailuresAre502: what the provider answers at the code
// exchange, as status and the fix the log names.
func TestCallbackProviderFailuresAre502(t *testing.T) {
	for name, tc := range map[string]struct {
		fault  monocloudtest.Fault
		status int
		fix    string
	}{
		"redirect URI refused": {monocloudtest.Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"redirect_uri does not match"}`}, http.StatusBadGateway, "MONOCLOUD_AUTH_APP_URL"},
		"provider 500":         {monocloudtest.Fault{Status: 500, Body: "down"}, http.StatusBadGateway, ""},
		"answer without token": {monocloudtest.Fault{Status: 200, Body: `{"token_type":"Bearer"}`}, http.StatusBadGateway, ""},
		"provider overloaded":  {monocloudtest.Fault{Status: 503, Body: "busy"}, http.StatusServiceUnavailable, ""},
	} {
		t.Run(name, func(t *testing.T) {
			log := &logRecorder{level: 0}
			app := newTestApp(t, appConfig{opts: log.options()})
			cb := epCallback(t, app)
			app.op.SetTokenFault(tc.fault)
			resp, body := app.get(cb)
			assertErrorPage(t, resp, body, tc.status, []string{app.url("/api/auth/signin")}, "redirect_uri", "down", "monocloud:")
			if tc.status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "5" {
				t.Errorf("Retry-After %q, want 5", resp.Header.Get("Retry-After"))
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			var failed []Event
			for _, e := range log.events {
				if e.Path != "" {
					failed = append(failed, e)
				}
			}
			if len(failed) != 1 || failed[0].Status != tc.status {
				t.Fatalf("route failures %+v, want one with status %d", failed, tc.status)
			}
			if logged := failed[0].Err.Error(); tc.fix != "" && (!strings.Contains(logged, tc.fix) || !strings.Contains(logged, app.url("/api/auth/callback"))) {
				t.Errorf("logged error %q does not name %s and the callback URL", logged, tc.fix)
			}
		})
	}
}

// TestCallbackErrorHidesAttackerText: the callback's error_description is
// anyone's text: it reaches the log, never the page.
func TestCallbackErrorHidesAttackerText(t *testing.T) {
	app := newTestApp(t, appConfig{})
	cb, err := url.Parse(epCallback(t, app))
	if err != nil {
		t.Fatal(err)
	}
	q := cb.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	q.Set("error_description", `<script>alert("pwned")</script> call +1-555-0100`)
	cb.RawQuery = q.Encode()
	resp, body := app.get(cb.String())
	assertErrorPage(t, resp, body, http.StatusBadRequest, []string{app.url("/api/auth/signin"), app.srv.URL}, "pwned", "555-0100", "access_denied", "<script>")
}

// TestErrorAnswerJSON: a client that asked for JSON gets the error as a
// JSON object, without details.
func TestErrorAnswerJSON(t *testing.T) {
	opts := Options{ClientSecret: "not-the-secret"}
	app := newTestApp(t, appConfig{opts: opts})
	resp, body := epGet(t, app, epCallback(t, app), http.Header{"Accept": {"application/json"}})
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q %s (%v), want 502 JSON", resp.StatusCode, resp.Header.Get("Content-Type"), body, err)
	}
	if got["error"] != "bad_gateway" || got["message"] == "" || strings.Contains(body, "invalid_client") {
		t.Errorf("answer %s", body)
	}
}

// TestProviderUnavailablePage: a provider that cannot be discovered makes
// sign-in a 503 with Retry-After, whose page offers to try the same
// sign-in again.
func TestProviderUnavailablePage(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	op.SetDiscoveryFault(monocloudtest.Fault{Status: http.StatusInternalServerError})
	app := newTestApp(t, appConfig{op: op})
	resp, body := app.get("/api/auth/signin?return_url=%2Fteam")
	assertErrorPage(t, resp, body, http.StatusServiceUnavailable, []string{app.url("/api/auth/signin?return_url=%2Fteam")}, "monocloud:", "500")
	if resp.Header.Get("Retry-After") != "5" {
		t.Errorf("Retry-After %q, want 5", resp.Header.Get("Retry-After"))
	}
}

// TestStoreDownAnswers: a store that fails makes a protected API a 503 JSON
// answer with Retry-After, and a page a 503 page.
func TestStoreDownAnswers(t *testing.T) {
	store := &fakeStore{}
	app := newTestApp(t, appConfig{store: store, build: func(c *Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", c.Handler())
		mux.Handle("/api/data", c.ProtectAPI(nil)(okHandler))
		mux.Handle("/page", c.ProtectPage(nil)(okHandler))
		return mux
	}})
	app.signInVia("/api/auth/signin")
	store.setDown(errStoreDown)
	resp, body := app.get("/api/data")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Retry-After") != "5" || strings.Contains(body, "connection refused") {
		t.Errorf("API: %d %q Retry-After %q %s, want 503 JSON with Retry-After", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), body)
	}
	resp, body = app.get("/page")
	assertErrorPage(t, resp, body, http.StatusServiceUnavailable, []string{app.url("/page")}, "connection refused", "fakeStore")
}
