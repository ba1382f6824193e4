package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/backend"
)

// API is the app's own JSON API: GET /api/orders, which takes only access
// tokens issued for Resource, and the /orders page, which calls it with
// the token GetTokens returns for the signed-in user. In a real system the
// API would be another service; here the app calls itself, at its AppURL.
type API struct {
	// Client validates the API's access tokens; its audience is Resource.
	Client *backend.Client
	// Resource is the API's identifier (its audience): one of the
	// MonoCloud client's Options.Resources, whose scopes the API requires.
	Resource string
}

// ordersAPI serves API and calls it.
type ordersAPI struct {
	resource string
	scopes   string // space-separated, required by the API and asked of GetTokens
	protect  func(http.Handler) http.Handler
	url      string // where the page calls the API
	http     *http.Client
}

// newOrdersAPI checks that opts.Resources has api.Resource, whose scopes
// the API requires.
func newOrdersAPI(api *API, opts monocloud.Options) (*ordersAPI, error) {
	i := slices.IndexFunc(opts.Resources, func(ind monocloud.Indicator) bool { return ind.Resource == api.Resource })
	if i < 0 {
		return nil, fmt.Errorf("app: the API %q is not one of Options.Resources, so no token can be asked for it", api.Resource)
	}
	scopes := opts.Resources[i].Scopes
	return &ordersAPI{
		resource: api.Resource,
		scopes:   scopes,
		protect:  api.Client.Protect(&backend.ProtectOptions{Scopes: strings.Fields(scopes)}),
		url:      strings.TrimSuffix(opts.AppURL, "/") + "/api/orders",
		http:     &http.Client{Timeout: 10 * time.Second},
	}, nil
}

// handler is GET /api/orders: a 401 or 403 JSON answer (from Protect)
// without a valid token carrying the API's scopes.
func (o *ordersAPI) handler() http.Handler {
	return o.protect(http.HandlerFunc(listOrders))
}

// orders is the JSON answer of /api/orders.
type orders struct {
	Subject string   `json:"sub"`
	Scopes  []string `json:"scopes"`
	Orders  []order  `json:"orders"`
}

type order struct {
	ID       string `json:"id"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// listOrders answers the orders of the token's user. It knows the user
// only from the access token's claims: the API reads no cookie.
func listOrders(w http.ResponseWriter, r *http.Request) {
	claims, _ := backend.ClaimsFromContext(r.Context()) // Protect guarantees them
	writeJSON(w, http.StatusOK, orders{
		Subject: claims.Subject(),
		Scopes:  claims.Scopes(),
		Orders:  []order{{"A-1001", "Green tea", 2}, {"A-1002", "Notebook", 1}},
	})
}

// apiCall is the page's account of one call of the API.
type apiCall struct {
	URL       string
	Status    string  // "200 OK"; empty when the request failed
	Answer    *orders // the decoded answer of a 200
	Body      string  // the answer as sent (JSON indented)
	Challenge string  // WWW-Authenticate of a refusal
	Err       string  // why the request failed
}

// call sends GET /api/orders with token as its bearer token.
func (o *ordersAPI) call(ctx context.Context, token string) apiCall {
	c := apiCall{URL: o.url}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url, nil)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := o.http.Do(req)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		c.Err = err.Error()
		return c
	}
	c.Status, c.Challenge, c.Body = resp.Status, resp.Header.Get("WWW-Authenticate"), string(body)
	var indented bytes.Buffer
	if json.Indent(&indented, body, "", "  ") == nil {
		c.Body = indented.String()
	}
	if resp.StatusCode == http.StatusOK {
		var answer orders
		if err := json.Unmarshal(body, &answer); err != nil {
			c.Err = "the answer is not the orders JSON: " + err.Error()
			return c
		}
		c.Answer = &answer
	}
	return c
}

// ordersPage gets the signed-in user's access token for the API, calls the
// API with it, and shows the answer: 502 when the API refused the token or
// could not be reached.
func (a *app) ordersPage(w http.ResponseWriter, r *http.Request) {
	o := a.orders
	if o == nil {
		render(w, http.StatusNotFound, "no-api", a.layout(r, "/orders", "Orders API"))
		return
	}
	tokens, err := a.client.GetTokens(r.Context(), &monocloud.GetTokensOptions{Resource: o.resource, Scopes: o.scopes})
	if err != nil {
		status, msg := tokenErrorStatus(err)
		a.errorPage(w, r, status, msg, a.client.SignInURL("/orders", nil))
		return
	}
	call := o.call(r.Context(), tokens.AccessToken)
	status := http.StatusOK
	if call.Answer == nil {
		status = http.StatusBadGateway
	}
	render(w, status, "orders", struct {
		layout
		Resource    string
		Tokens      *monocloud.Tokens
		Fingerprint string
		Expiry      expiry
		Call        apiCall
	}{a.layout(r, "/orders", "Orders API"), o.resource, tokens, fingerprint(tokens.AccessToken), expiryOf(tokens), call})
}
