package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	monocloud "github.com/monocloud/auth-go"
)

// The session round trips: real sessions from the real provider, of several
// shapes, read back exactly after every step that rewrites them. Reads go
// through the app's replica (flowConfig.Replica), whose cache has never seen
// the main client's cookies, so every read decodes the cookie (or, with a
// store, the store's JSON) afresh.

// wireScopes ask for every claim shape the provider has: nested objects
// (address), booleans, integers, floats beyond int64, empty and nested
// arrays and objects, null, and a claim that differs in userinfo
// (claims_source).
const wireScopes = "openid profile email address phone shapes"

// wireFilteredClaims is the library's default FilteredIDTokenClaims: the
// protocol claims it does not put in the user.
var wireFilteredClaims = strings.Fields("iss exp nbf aud nonce iat auth_time c_hash at_hash s_hash")

func TestSessionRoundTripsRealSessions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, login, scopes string
		store               bool
		userInfo, refetch   bool
	}{
		{name: "cookie, basic claims", login: "alice", userInfo: true},
		{name: "cookie, every claim shape, refetched userinfo", login: "admin", scopes: wireScopes, userInfo: true, refetch: true},
		{name: "cookie, every claim shape, no userinfo", login: "bob", scopes: wireScopes},
		{name: "cookie, unicode login", login: "zoë-ünïcode ✓", scopes: wireScopes, userInfo: true},
		{name: "store, every claim shape, refetched userinfo", login: "admin", scopes: wireScopes, store: true, userInfo: true, refetch: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var last atomic.Pointer[monocloud.Session] // what the last /rt route saw
			cfg := flowConfig{
				Scopes:          tc.scopes,
				UserInfo:        new(tc.userInfo),
				RefetchUserInfo: new(tc.refetch),
				Replica:         true,
				Routes:          wireRoutes(&last),
			}
			if tc.store {
				cfg.Store = &jsonStore{m: map[string][]byte{}}
			}
			app := flowStart(t, cfg)
			op, err := oidc.NewProvider(context.Background(), app.op.Issuer())
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			c := flowBrowser(t)
			read := func(t *testing.T, path string) *monocloud.Session {
				t.Helper()
				last.Store(nil)
				if resp := app.get(t, c, path); resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %s: %s", path, resp.Status, resp.body)
				}
				return last.Load()
			}
			// step checks the session after a step: the replica decodes what
			// the main client holds, the user is the claims of the tokens,
			// the tokens are the provider's, and an UpdateSession of it
			// (with Extra data when extra is set) reads back exactly.
			step := func(t *testing.T, prev *monocloud.Session, refreshed, extra bool) *monocloud.Session {
				t.Helper()
				s := read(t, "/replica/rt/session")
				if held := read(t, "/rt/session"); !reflect.DeepEqual(s, held) {
					t.Fatalf("the replica decoded a session unlike the main client's:\n%s", wireDiff(held, s))
				}
				want := wireWantUser(t, op, prev, s, refreshed, refreshed && tc.refetch || prev == nil && tc.userInfo)
				if !reflect.DeepEqual(s.User, want) {
					t.Errorf("user is not the claims of the ID token and userinfo:\n%s", wireDiff(want, s.User))
				}
				wireCheckTokens(t, op, s)

				query := ""
				if extra {
					query = "?extra=1"
				}
				sent := read(t, "/rt/update"+query)
				if !extra && !reflect.DeepEqual(sent, s) {
					t.Fatalf("UpdateSession's handler read a session unlike the replica's:\n%s", wireDiff(s, sent))
				}
				back := read(t, "/replica/rt/session")
				if !reflect.DeepEqual(back, sent) {
					t.Fatalf("UpdateSession then read: not the session updated:\n%s", wireDiff(sent, back))
				}
				return back
			}

			app.signIn(t, c, tc.login, "/")
			s := step(t, nil, false, false)
			for _, api := range []string{flowAPIOne.URL, flowAPITwo.URL} {
				app.tokens(t, c, url.Values{"resource": {api}})
			}
			s = step(t, s, false, true)
			if len(s.AccessTokens) != 3 {
				t.Errorf("session holds %d access tokens, want the default one and one per API", len(s.AccessTokens))
			}
			if s.Extra["cart"] == nil {
				t.Errorf("Extra = %v, want the cart UpdateSession saved", s.Extra)
			}
			app.tokens(t, c, url.Values{"force": {"1"}})
			final := step(t, s, true, false)
			// (Not the ID token: RS256 signatures are deterministic, so an
			// ID token issued within the same second can be the same.)
			if final.RefreshToken == s.RefreshToken {
				t.Errorf("a forced refresh kept the refresh token")
			}

			// The refresh token is the one the provider issued: it works
			// once, then the provider refuses it (rotation).
			for i, want := range []int{http.StatusOK, http.StatusBadRequest} {
				if got := wireRefresh(t, app, final.RefreshToken); got != want {
					t.Errorf("refresh grant %d with the session's refresh token: %d, want %d", i+1, got, want)
				}
			}
		})
	}
}

// wireRoutes are the routes of a round trip, on the main client and the
// replica: /rt/session reads the session, /rt/update reads it and saves it
// with UpdateSession (adding Extra data with ?extra=1). Both put the session
// read or saved in last.
func wireRoutes(last *atomic.Pointer[monocloud.Session]) func(*http.ServeMux, *monocloud.Client) {
	return func(mux *http.ServeMux, c *monocloud.Client) {
		mux.HandleFunc("GET /rt/session", func(w http.ResponseWriter, r *http.Request) {
			s, err := c.Session(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			last.Store(s)
		})
		mux.HandleFunc("GET /rt/update", func(w http.ResponseWriter, r *http.Request) {
			s, err := c.Session(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if r.URL.Query().Get("extra") == "1" {
				s.Extra = map[string]any{"cart": map[string]any{
					"items": []any{map[string]any{"sku": "A-1", "qty": 2.0}, nil, true},
					"total": 12.5, "note": "", "tags": []any{},
				}}
			}
			if err := c.UpdateSession(r.Context(), s); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			last.Store(s)
		})
	}
}

// wireWantUser returns the user that s must hold, decoded independently of
// the library: prev's user (none at sign-in) overlaid with the claims of
// s's ID token when it is new (or refreshed says a refresh returned one),
// minus the protocol claims, then with the provider's userinfo for s's
// default access token when withUserInfo.
func wireWantUser(t *testing.T, op *oidc.Provider, prev, s *monocloud.Session, refreshed, withUserInfo bool) monocloud.User {
	t.Helper()
	want := monocloud.User{}
	if prev != nil {
		maps.Copy(want, prev.User)
	}
	if prev == nil || refreshed || s.IDToken != prev.IDToken {
		for k, v := range flowJWT(t, s.IDToken) {
			if !slices.Contains(wireFilteredClaims, k) {
				want[k] = v
			}
		}
	}
	if withUserInfo {
		maps.Copy(want, wireUserInfo(t, op, wireDefaultToken(t, s)))
	}
	return want
}

// wireCheckTokens checks that s's tokens are byte for byte the provider's:
// the ID token and each resource's JWT access token verify against the
// provider's keys, and the default access token works at userinfo.
func wireCheckTokens(t *testing.T, op *oidc.Provider, s *monocloud.Session) {
	t.Helper()
	ctx := context.Background()
	if _, err := op.Verifier(&oidc.Config{ClientID: flowClientID}).Verify(ctx, s.IDToken); err != nil {
		t.Errorf("ID token: %v", err)
	}
	for _, at := range s.AccessTokens {
		if at.Resource == "" {
			continue
		}
		if _, err := op.Verifier(&oidc.Config{ClientID: at.Resource}).Verify(ctx, at.AccessToken); err != nil {
			t.Errorf("access token for %s: %v", at.Resource, err)
		}
	}
	wireUserInfo(t, op, wireDefaultToken(t, s))
}

func wireDefaultToken(t *testing.T, s *monocloud.Session) string {
	t.Helper()
	for _, at := range s.AccessTokens {
		if at.Resource == "" {
			return at.AccessToken
		}
	}
	t.Fatalf("session has no default access token: %+v", s.AccessTokens)
	return ""
}

// wireUserInfo calls the provider's userinfo endpoint with accessToken.
func wireUserInfo(t *testing.T, op *oidc.Provider, accessToken string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, op.UserInfoEndpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo with the session's access token: %s: %s", resp.Status, body)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		t.Fatalf("userinfo: %v: %s", err, body)
	}
	return claims
}

// wireRefresh sends a refresh grant with refreshToken and returns the
// provider's status.
func wireRefresh(t *testing.T, app *flowApp, refreshToken string) int {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	req, err := http.NewRequest(http.MethodPost, app.op.TokenEndpoint(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(flowClientID), url.QueryEscape(flowClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("refresh grant: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// wireDiff shows want and got with their Go types, for a failure message.
func wireDiff(want, got any) string {
	return fmt.Sprintf("want %#v\ngot  %#v", want, got)
}

// jsonStore is a SessionStore that keeps sessions as JSON, as a store
// shared by several instances does (redisstore).
type jsonStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *jsonStore) Get(_ context.Context, key string) (*monocloud.Session, error) {
	s.mu.Lock()
	b, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	var sess monocloud.Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return nil, err
	}
	return &sess, nil
}

func (s *jsonStore) Set(_ context.Context, key string, sess *monocloud.Session, _ monocloud.Lifetime) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = b
	return nil
}

func (s *jsonStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}
