package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/monocloudtest/apptest"
)

const ordersResource = "https://orders.example.test"

// serve serves the app against op, with ordersResource among the client's
// resources and, if withAPI, served by the app, and returns its URL and a
// browser signed in as op's user.
func serve(t *testing.T, op *monocloudtest.Provider, withAPI bool) (string, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	client := apptest.NewClient(t, op, appURL, &monocloud.Options{
		Resources: []monocloud.Indicator{{Resource: ordersResource, Scopes: "orders:read"}},
	})
	var api *API
	if withAPI {
		validator, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: ordersResource, HTTPClient: op.Client()})
		if err != nil {
			t.Fatal(err)
		}
		api = &API{Client: validator, Resource: ordersResource}
	}
	h, err := New(client, api)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, apptest.SignIn(t, op, srv.URL+"/api/auth/signin")
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestTokensPageUnknownExpiry checks that a token whose expiry the
// provider did not give (no expires_in, not a JWT) shows as unknown, not as
// the Unix epoch, and that a forced refresh is confirmed.
func TestTokensPageUnknownExpiry(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{OmitExpiresIn: true, OpaqueAccessTokens: true})
	appURL, browser := serve(t, op, false)

	status, body := get(t, browser, appURL+"/tokens")
	if status != http.StatusOK || !strings.Contains(body, `<td id="expires">unknown</td>`) || strings.Contains(body, "1970") {
		t.Errorf("GET /tokens: %d, want the expiry shown as unknown:\n%s", status, body)
	}
	if strings.Contains(body, `id="refreshed"`) {
		t.Errorf("GET /tokens confirms a refresh it did not make:\n%s", body)
	}

	status, body = get(t, browser, appURL+"/tokens?refresh=1")
	if status != http.StatusOK || !strings.Contains(body, `id="refreshed">Refreshed at `) || !strings.Contains(body, "the new token’s expiry is unknown") {
		t.Errorf("GET /tokens?refresh=1: %d, want the refresh confirmed with an unknown expiry:\n%s", status, body)
	}
	if n := op.RefreshGrants(); n != 1 {
		t.Errorf("refresh grants: %d, want 1", n)
	}
}

// TestOrdersPage checks the loop the quickstart shows: the page gets the
// user's token for the API and the API, which takes no cookie, answers for
// that user.
func TestOrdersPage(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{Subject: "user-7"})
	appURL, browser := serve(t, op, true)

	status, body := get(t, browser, appURL+"/orders")
	for _, want := range []string{`<span id="api-status">200 OK</span>`, `<strong id="api-user">user-7</strong>`, `<a href="/orders" class="active">`} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /orders: %d, want %s:\n%s", status, want, body)
		}
	}
	if status, body := get(t, browser, appURL+"/api/orders"); status != http.StatusUnauthorized {
		t.Errorf("GET /api/orders with the session cookie and no token: %d, want 401:\n%s", status, body)
	}
}

// TestOrdersPageWithoutAPI checks that an app without an API says how to
// configure one, and does not link to it.
func TestOrdersPageWithoutAPI(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	appURL, browser := serve(t, op, false)

	status, body := get(t, browser, appURL+"/orders")
	if status != http.StatusNotFound || !strings.Contains(body, `id="no-api"`) || !strings.Contains(body, "EXAMPLE_API_RESOURCE") {
		t.Errorf("GET /orders without an API: %d, want 404 naming EXAMPLE_API_RESOURCE:\n%s", status, body)
	}
	if _, body := get(t, browser, appURL+"/"); strings.Contains(body, `href="/orders"`) {
		t.Errorf("home page links to /orders without an API:\n%s", body)
	}
}

// TestNewRefusesAnAPIWithoutItsResource checks that New refuses an API for
// which the client could get no token.
func TestNewRefusesAnAPIWithoutItsResource(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	client := apptest.NewClient(t, op, "http://127.0.0.1:8080", nil)
	validator, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: ordersResource, HTTPClient: op.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(client, &API{Client: validator, Resource: ordersResource}); err == nil || !strings.Contains(err.Error(), ordersResource) {
		t.Errorf("New with an API not among the resources: %v, want an error naming it", err)
	}
}
