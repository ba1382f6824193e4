// Package app is the quickstart web application: a home page, a page that
// needs sign-in, a page only for the admin group, and pages that show the
// signed-in user's tokens.
//
// The program in the parent directory serves it; the browser test in e2e
// serves the same handler.
package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

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
// MonoCloud client and resources the Options.Resources it was created with
// (the tokens page links to a token for each).
//
// The auth middleware in front of every page serves the auth routes
// (/api/auth/signin, /api/auth/callback, /api/auth/signout …) and lets only
// signed-in users reach /protected, /tokens and /api/tokens: pages redirect
// to sign-in, the API answers 401 JSON. /admin is protected on its own by
// ProtectPage: it needs a member of the "admin" group, and shows others a
// 403 page.
func New(client *monocloud.Client, resources []monocloud.Indicator) http.Handler {
	a := &app{client: client, resources: resources}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /protected", a.protected)
	mux.HandleFunc("GET /tokens", a.tokens)
	mux.HandleFunc("GET /api/tokens", a.apiTokens)
	admins := client.ProtectPage(&monocloud.ProtectOptions{
		GroupCheck:     monocloud.GroupCheck{Groups: []string{AdminGroup}},
		OnAccessDenied: a.adminDenied,
	})
	mux.Handle("GET /admin", admins(http.HandlerFunc(a.admin)))

	protect := client.AuthMiddleware(&monocloud.MiddlewareOptions{
		ProtectedRoutes: monocloud.Protect(`^/protected$`, `^/tokens$`, `^/api/tokens$`),
	})
	return protect(mux)
}

// AdminGroup is the group whose members may see /admin.
const AdminGroup = "admin"

type app struct {
	client    *monocloud.Client
	resources []monocloud.Indicator
}

// home shows whether the visitor is signed in.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	data := struct {
		SignedIn  bool
		Name      string
		SignInURL string
	}{SignInURL: a.client.SignInURL("", nil)}
	if s, err := a.client.Session(r.Context()); err == nil {
		data.SignedIn = true
		data.Name = displayName(s.User)
	}
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
		Name   string
		Groups []string
		Claims []claim
	}{displayName(s.User), s.User.Groups("groups"), claims})
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
		Name   string
		Groups []string
	}{displayName(s.User), s.User.Groups("groups")})
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
		Name  string
		Group string
	}{displayName(user), AdminGroup})
}

// tokens shows the access token GetTokens returns: the default one, or the
// one for ?resource=…; ?refresh=1 forces a refresh.
func (a *app) tokens(w http.ResponseWriter, r *http.Request) {
	resource, ok := a.resource(r)
	if !ok {
		render(w, http.StatusBadRequest, "error", struct{ Message, SignInURL string }{"Unknown API.", ""})
		return
	}
	tokens, err := a.getTokens(r, resource)
	if err != nil {
		status, msg := tokenErrorStatus(err)
		signIn := a.client.SignInURL("/tokens", nil)
		render(w, status, "error", struct{ Message, SignInURL string }{msg, signIn})
		return
	}

	type api struct{ Resource, Scopes, URL string }
	apis := []api{{URL: "/tokens"}} // the default token
	for _, ind := range a.resources {
		apis = append(apis, api{ind.Resource, ind.Scopes, "/tokens?" + url.Values{"resource": {ind.Resource}}.Encode()})
	}
	refresh := url.Values{"refresh": {"1"}}
	if resource != "" {
		refresh.Set("resource", resource)
	}
	expires := time.Unix(tokens.AccessTokenExpiration, 0)
	render(w, http.StatusOK, "tokens", struct {
		Tokens      *monocloud.Tokens
		Fingerprint string
		Expires     string
		ExpiresIn   time.Duration
		RefreshURL  string
		APIs        []api
	}{
		Tokens:      tokens,
		Fingerprint: fingerprint(tokens.AccessToken),
		Expires:     expires.UTC().Format(time.RFC3339),
		ExpiresIn:   time.Until(expires).Round(time.Second),
		RefreshURL:  "/tokens?" + refresh.Encode(),
		APIs:        apis,
	})
}

// getTokens returns the access token for resource ("" for the default
// one), refreshed first when the request asks with ?refresh=1.
func (a *app) getTokens(r *http.Request, resource string) (*monocloud.Tokens, error) {
	return a.client.GetTokens(r.Context(), &monocloud.GetTokensOptions{
		Resource:     resource,
		ForceRefresh: r.URL.Query().Get("refresh") == "1",
	})
}

// apiTokens answers the access token as JSON, for a script on the page or
// another service. It never hands out the refresh or ID token.
func (a *app) apiTokens(w http.ResponseWriter, r *http.Request) {
	resource, ok := a.resource(r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "unknown API"})
		return
	}
	tokens, err := a.getTokens(r, resource)
	if err != nil {
		status, msg := tokenErrorStatus(err)
		writeJSON(w, status, map[string]string{"message": msg})
		return
	}
	writeJSON(w, http.StatusOK, apiToken{
		AccessToken:           tokens.AccessToken,
		AccessTokenExpiration: tokens.AccessTokenExpiration,
		Scopes:                tokens.Scopes,
		Resource:              tokens.Resource,
		IsExpired:             tokens.IsExpired,
	})
}

// apiToken is the JSON of /api/tokens: Tokens without the refresh and ID
// tokens, with the same names.
type apiToken struct {
	AccessToken           string `json:"accessToken"`
	AccessTokenExpiration int64  `json:"accessTokenExpiration"`
	Scopes                string `json:"scopes"`
	Resource              string `json:"resource,omitempty"`
	IsExpired             bool   `json:"isExpired"`
}

// resource returns the API selected by the request's resource parameter:
// "" for the default token, or one of the configured resources. Other
// values are refused here rather than sent to the provider: a provider that
// rotates refresh tokens may consume the refresh token even when it then
// refuses the resource.
func (a *app) resource(r *http.Request) (string, bool) {
	want := r.URL.Query().Get("resource")
	if want == "" {
		return "", true
	}
	for _, ind := range a.resources {
		if ind.Resource == want {
			return want, true
		}
	}
	return "", false
}

// tokenErrorStatus turns a GetTokens error into a status and a message for
// the user.
func tokenErrorStatus(err error) (int, string) {
	var (
		opErr  *monocloud.OPError
		valErr *monocloud.ValidationError
	)
	switch {
	case errors.Is(err, monocloud.ErrNoSession):
		return http.StatusUnauthorized, "You are not signed in."
	case errors.As(err, &opErr) && opErr.Code == "invalid_grant":
		return http.StatusUnauthorized, "Your session at the provider has ended. Please sign in again."
	case errors.As(err, &opErr):
		return http.StatusBadRequest, "The provider refused the token request: " + opErr.Code + " " + opErr.Description
	case errors.As(err, &valErr):
		return http.StatusBadRequest, valErr.Message
	}
	slog.Error("GetTokens failed", "error", err)
	return http.StatusBadGateway, "The provider could not be reached. Please try again."
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
