package e2e

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flowGate is a transport that fails every request, as an unreachable
// provider does, until it is opened.
type flowGate struct{ open atomic.Bool }

func (g *flowGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if !g.open.Load() {
		return nil, errors.New("dial tcp " + r.URL.Host + ": connection refused (gate closed)")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestFlowProviderUnreachableAtStart creates the client while the provider
// cannot be reached: New succeeds, sign-in answers 503 while pages that need
// no provider call are served, and once the provider can be reached a
// sign-in works without a restart.
func TestFlowProviderUnreachableAtStart(t *testing.T) {
	t.Parallel()
	gate := &flowGate{}
	app := flowStart(t, flowConfig{Transport: gate})
	browser := flowBrowser(t)

	if resp := app.get(t, browser, "/api/auth/signin"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sign-in while unreachable: %s, want 503", resp.Status)
	}
	if resp := app.get(t, browser, "/protected"); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("GET /protected signed out while unreachable: %s, want 307 to sign-in", resp.Status)
	}
	if resp := app.get(t, browser, "/api/session"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/session signed out while unreachable: %s, want 401", resp.Status)
	}

	gate.open.Store(true)
	// Discovery is retried on demand after a backoff of about a second.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := app.get(t, browser, "/api/auth/signin")
		if resp.StatusCode == http.StatusTemporaryRedirect && strings.HasPrefix(resp.Header.Get("Location"), app.op.Issuer()) {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("sign-in after the provider came up: %s Location=%q", resp.Status, resp.Header.Get("Location"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	app.signIn(t, browser, "alice", "/protected")
	if resp := app.get(t, browser, "/protected"); resp.StatusCode != http.StatusOK || !strings.Contains(string(resp.body), `"sub":"alice"`) {
		t.Errorf("GET /protected signed in: %s %s", resp.Status, resp.body)
	}
}
