package app

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	monocloud "github.com/monocloud/auth-go"
)

// tokens shows the access token GetTokens returns: the default one, or the
// one for ?resource=…; ?refresh=1 forces a refresh, and the page then
// confirms it.
func (a *app) tokens(w http.ResponseWriter, r *http.Request) {
	resource, ok := a.resource(r)
	if !ok {
		a.errorPage(w, r, http.StatusBadRequest, "Unknown API.", "")
		return
	}
	tokens, err := a.getTokens(r, resource)
	if err != nil {
		status, msg := tokenErrorStatus(err)
		a.errorPage(w, r, status, msg, a.client.SignInURL("/tokens", nil))
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
	var refreshedAt string
	if forceRefresh(r) {
		refreshedAt = clock(time.Now())
	}
	render(w, http.StatusOK, "tokens", struct {
		layout
		Tokens      *monocloud.Tokens
		Fingerprint string
		Expiry      expiry
		RefreshedAt string
		RefreshURL  string
		APIs        []api
	}{
		layout:      a.layout(r, "/tokens", "Tokens"),
		Tokens:      tokens,
		Fingerprint: fingerprint(tokens.AccessToken),
		Expiry:      expiryOf(tokens),
		RefreshedAt: refreshedAt,
		RefreshURL:  "/tokens?" + refresh.Encode(),
		APIs:        apis,
	})
}

// expiry is an access token's expiry as the pages show it.
type expiry struct {
	Known bool
	At    string        // clock time, "15:04:05 MST"
	ISO   string        // RFC 3339, for <time datetime>
	In    time.Duration // from now, rounded to the second
}

// expiryOf reads tokens.AccessTokenExpiration, where 0 means unknown: the
// provider sent no expires_in and the token is no JWT with an exp.
func expiryOf(tokens *monocloud.Tokens) expiry {
	if tokens.AccessTokenExpiration == 0 {
		return expiry{}
	}
	t := time.Unix(tokens.AccessTokenExpiration, 0)
	return expiry{Known: true, At: clock(t), ISO: t.UTC().Format(time.RFC3339), In: time.Until(t).Round(time.Second)}
}

// clock formats t as a time of day in the server's time zone.
func clock(t time.Time) string { return t.Local().Format("15:04:05 MST") }

// forceRefresh reports whether the request asks for a refresh (?refresh=1).
func forceRefresh(r *http.Request) bool { return r.URL.Query().Get("refresh") == "1" }

// getTokens returns the access token for resource ("" for the default
// one), refreshed first when the request asks with ?refresh=1.
func (a *app) getTokens(r *http.Request, resource string) (*monocloud.Tokens, error) {
	return a.client.GetTokens(r.Context(), &monocloud.GetTokensOptions{
		Resource:     resource,
		ForceRefresh: forceRefresh(r),
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

// errorPage answers a page whose tokens are unavailable, with a link to
// sign in again when signIn is set.
func (a *app) errorPage(w http.ResponseWriter, r *http.Request, status int, msg, signIn string) {
	render(w, status, "error", struct {
		layout
		Message, SignInURL string
	}{a.layout(r, "", "Tokens unavailable"), msg, signIn})
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
