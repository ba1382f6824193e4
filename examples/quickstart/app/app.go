// Package app is the quickstart web application: a home page, a page that
// needs sign-in, a page only for the admin group, pages that show the
// signed-in user's tokens, and (with an API configured) a JSON API
// protected by access tokens with a page that calls it.
//
// The program in the parent directory serves it; the tests in e2e serve
// the same handler.
package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	monocloud "github.com/monocloud/auth-go"
)

// ParseResources parses a list of APIs in the form
// "https://api.example.com=read:api write:api,https://other.example.com=read:other":
// comma-separated resource=scopes entries, where the scopes may be omitted.
// The example reads it from EXAMPLE_RESOURCES to fill Options.Resources.
func ParseResources(s string) ([]monocloud.Indicator, error) {
	var inds []monocloud.Indicator
	for entry := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		resource, scopes, _ := strings.Cut(entry, "=")
		resource = strings.TrimSpace(resource)
		if resource == "" {
			return nil, fmt.Errorf("resource list entry %q: missing the resource URL", entry)
		}
		inds = append(inds, monocloud.Indicator{Resource: resource, Scopes: strings.TrimSpace(scopes)})
	}
	return inds, nil
}

// New returns the application's handler. client is the configured
// MonoCloud client; the tokens page links to a token for each of its
// Options.Resources. api, if not nil, is the app's own JSON API, served at
// /api/orders and called by the /orders page.
//
// The auth middleware in front of every page serves the auth routes
// (/api/auth/signin, /api/auth/callback, /api/auth/signout …) and lets only
// signed-in users reach /protected, /tokens, /orders and /api/tokens: pages
// redirect to sign-in, the API answers 401 JSON. /admin is protected on its
// own by ProtectPage: it needs a member of the "admin" group, and shows
// others a 403 page. /api/orders takes no cookie: only an access token for
// the API.
func New(client *monocloud.Client, api *API) (http.Handler, error) {
	opts := client.Options()
	a := &app{client: client, resources: opts.Resources, federatedSignOut: *opts.FederatedSignOut}
	mux := http.NewServeMux()
	if api != nil {
		orders, err := newOrdersAPI(api, opts)
		if err != nil {
			return nil, err
		}
		a.orders = orders
		mux.Handle("GET /api/orders", orders.handler())
	}
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /protected", a.protected)
	mux.HandleFunc("GET /tokens", a.tokens)
	mux.HandleFunc("GET /orders", a.ordersPage)
	mux.HandleFunc("GET /api/tokens", a.apiTokens)
	admins := client.ProtectPage(&monocloud.ProtectOptions{
		GroupCheck:     monocloud.GroupCheck{Groups: []string{AdminGroup}},
		OnAccessDenied: a.adminDenied,
	})
	mux.Handle("GET /admin", admins(http.HandlerFunc(a.admin)))
	// The sign-out the configured one is not (see the signout template).
	mux.Handle("GET "+signOutAppOnly, client.SignOutHandler(&monocloud.SignOutOptions{FederatedSignOut: new(false)}))
	mux.Handle("GET "+signOutEverywhere, client.SignOutHandler(&monocloud.SignOutOptions{FederatedSignOut: new(true)}))

	protect := client.AuthMiddleware(&monocloud.MiddlewareOptions{
		ProtectedRoutes: monocloud.Protect(`^/protected$`, `^/tokens$`, `^/orders$`, `^/api/tokens$`),
	})
	return protect(mux), nil
}

// AdminGroup is the group whose members may see /admin.
const AdminGroup = "admin"

// The sign-out routes besides the configured /api/auth/signout.
const (
	signOutAppOnly    = "/signout/app-only"
	signOutEverywhere = "/signout/everywhere"
)

type app struct {
	client    *monocloud.Client
	resources []monocloud.Indicator
	// federatedSignOut is Options.FederatedSignOut: whether
	// /api/auth/signout ends the provider's session too.
	federatedSignOut bool
	orders           *ordersAPI // nil without an API
}

// home shows whether the visitor is signed in, and what to try.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	data := struct {
		layout
		SignInURL string
	}{layout: a.layout(r, "/", "Home"), SignInURL: a.client.SignInURL("", nil)}
	render(w, http.StatusOK, "home", data)
}

// protected lists the signed-in user's claims. The middleware guarantees a
// session here.
func (a *app) protected(w http.ResponseWriter, r *http.Request) {
	s, err := a.client.Session(r.Context())
	if err != nil {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	type claim struct{ Name, Value string }
	var claims []claim
	for _, name := range slices.Sorted(maps.Keys(s.User)) {
		claims = append(claims, claim{name, fmt.Sprint(s.User[name])})
	}
	render(w, http.StatusOK, "protected", struct {
		layout
		Groups []string
		Claims []claim
	}{a.layout(r, "/protected", "Protected"), s.User.Groups("groups"), claims})
}

// admin is the page for members of AdminGroup; ProtectPage lets no one else
// reach it.
func (a *app) admin(w http.ResponseWriter, r *http.Request) {
	s, err := a.client.Session(r.Context())
	if err != nil {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	render(w, http.StatusOK, "admin", struct {
		layout
		Groups []string
	}{a.layout(r, "/admin", "Admin"), s.User.Groups("groups")})
}

// adminDenied answers a request for /admin that ProtectPage refused: a
// visitor who is not signed in goes to sign-in, a signed-in user outside
// AdminGroup gets a 403 page.
func (a *app) adminDenied(w http.ResponseWriter, r *http.Request, user monocloud.User) {
	if user == nil {
		a.client.RedirectToSignIn(w, r, "/admin", nil)
		return
	}
	render(w, http.StatusForbidden, "forbidden", struct {
		layout
		Group string
	}{a.layout(r, "/admin", "Forbidden"), AdminGroup})
}

// layout is what every page's frame shows: the title, the current
// navigation item, the signed-in user and the sign-out choices.
type layout struct {
	Title    string
	Links    []navLink
	SignedIn bool
	Name     string
	HasAPI   bool
	// Federated is whether /api/auth/signout ends the provider's session
	// too; the page then offers AppOnly, and Everywhere otherwise.
	Federated           bool
	AppOnly, Everywhere string
}

// navLink is an item of the navigation bar.
type navLink struct {
	Path, Label string
	Active      bool
}

// layout returns the frame of the page whose navigation item is nav (its
// path, or "" for none).
func (a *app) layout(r *http.Request, nav, title string) layout {
	l := layout{
		Title: title, HasAPI: a.orders != nil,
		Federated: a.federatedSignOut, AppOnly: signOutAppOnly, Everywhere: signOutEverywhere,
	}
	l.Links = []navLink{{Path: "/", Label: "Home"}, {Path: "/protected", Label: "Protected"}, {Path: "/admin", Label: "Admin"}, {Path: "/tokens", Label: "Tokens"}}
	if l.HasAPI {
		l.Links = append(l.Links, navLink{Path: "/orders", Label: "Orders API"})
	}
	for i := range l.Links {
		l.Links[i].Active = l.Links[i].Path == nav
	}
	if s, err := a.client.Session(r.Context()); err == nil {
		l.SignedIn, l.Name = true, displayName(s.User)
	}
	return l
}

func displayName(u monocloud.User) string {
	for _, claim := range []string{"name", "preferred_username", "email"} {
		if v, ok := u[claim].(string); ok && v != "" {
			return v
		}
	}
	return u.Subject()
}

// fingerprint identifies a token on the page without showing it.
func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}

func render(w http.ResponseWriter, status int, page string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, page, data); err != nil {
		slog.Error("rendering page", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
