package backend

import (
	"encoding/base64"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// claimsFor returns valid access token claims for f's provider, edited.
func (f *fixture) claimsFor(edit func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": f.op.Issuer(), "aud": testAudience, "sub": "user-1", "client_id": "app",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "read write",
	}
	if edit != nil {
		edit(c)
	}
	return c
}

// withHeader returns token with its header replaced by header (JSON).
func withHeader(token, header string) string {
	_, rest, _ := strings.Cut(token, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + rest
}

func TestValidateJWT(t *testing.T) {
	f := newFixture(t, nil)
	valid := f.op.SignJWT(t, "at+jwt", f.claimsFor(nil))
	parts := strings.Split(valid, ".")
	for _, tc := range []struct {
		name   string
		token  func() string
		reason string // "" for valid
	}{
		{"valid at+jwt", func() string { return valid }, ""},
		{"typ JWT allowed", func() string { return f.op.SignJWT(t, "JWT", f.claimsFor(nil)) }, ""},
		{"typ application/at+jwt allowed", func() string { return f.op.SignJWT(t, "application/at+jwt", f.claimsFor(nil)) }, ""},
		{"no typ allowed", func() string { return f.op.SignJWT(t, "", f.claimsFor(nil)) }, ""},
		{"typ of another token", func() string { return f.op.SignJWT(t, "logout+jwt", f.claimsFor(nil)) }, "token_type"},
		{"two-part token", func() string { return parts[0] + "." + parts[1] }, "inactive"},
		{"header not JSON", func() string { return "bm90IGpzb24." + parts[1] + "." + parts[2] }, "malformed_jwt"},
		{"header not an object", func() string { return withHeader(valid, `[1]`) }, "malformed_jwt"},
		{"crit header", func() string { return withHeader(valid, `{"alg":"RS256","crit":["exp"],"exp":1}`) }, "crit_header"},
		{"alg none", func() string { return withHeader(valid, `{"alg":"none"}`) }, "malformed_jwt"},
		{"alg HS256", func() string { return withHeader(valid, `{"alg":"HS256"}`) }, "malformed_jwt"},
		{"bad signature", func() string { return parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])) }, "bad_signature"},
		{"payload tampered", func() string {
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"x"}`)) + "." + parts[2]
		}, "bad_signature"},
		{"payload not an object", func() string { return f.op.SignJWT(t, "at+jwt", nil) }, "malformed_payload"},
		{"issuer differs", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["iss"] = "https://evil" }))
		}, "issuer"},
		{"issuer missing", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { delete(c, "iss") }))
		}, "issuer"},
		{"audience differs", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["aud"] = "https://other" }))
		}, "audience"},
		{"audience array with ours", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["aud"] = []string{"https://other", testAudience} }))
		}, ""},
		{"subject not a string", func() string { return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["sub"] = 7 })) }, "subject"},
		{"expired", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["exp"] = time.Now().Add(-61 * time.Second).Unix() }))
		}, "expired"},
		{"expired within tolerance", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["exp"] = time.Now().Add(-30 * time.Second).Unix() }))
		}, ""},
		{"exp missing", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { delete(c, "exp") }))
		}, "exp_missing"},
		{"exp not a number", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["exp"] = "soon" }))
		}, "exp_missing"},
		{"nbf in the future", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["nbf"] = time.Now().Add(2 * time.Minute).Unix() }))
		}, "nbf_in_future"},
		{"nbf passed", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["nbf"] = time.Now().Add(-time.Minute).Unix() }))
		}, ""},
		{"iat in the future", func() string {
			return f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["iat"] = time.Now().Add(2 * time.Minute).Unix() }))
		}, "iat_in_future"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token()
			claims, err := f.c.ValidateAccessToken(t.Context(), token, nil)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if claims.Subject() == "" {
					t.Errorf("claims lack sub: %v", claims)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || (e.Code != ErrInvalidToken && !(tc.reason == "inactive")) {
				t.Fatalf("err = %v, want invalid_token (%s)", err, tc.reason)
			}
			if tc.reason != "inactive" && e.Reason != tc.reason {
				t.Errorf("reason %q, want %q (%v)", e.Reason, tc.reason, err)
			}
			if StatusOf(err) != 401 {
				t.Errorf("status %d, want 401", StatusOf(err))
			}
		})
	}
}

func TestValidateJWTOptions(t *testing.T) {
	t.Run("exp optional as in the SDK", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { no := false; o.RequireExp = &no })
		tok := f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { delete(c, "exp") }))
		if _, err := f.c.ValidateAccessToken(t.Context(), tok, nil); err != nil {
			t.Errorf("token without exp refused with RequireExp false: %v", err)
		}
	})
	t.Run("strict token type", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { yes := true; o.StrictTokenType = &yes })
		if _, err := f.c.ValidateAccessToken(t.Context(), f.op.SignJWT(t, "JWT", f.claimsFor(nil)), nil); err == nil {
			t.Error("typ JWT accepted with StrictTokenType")
		}
		if _, err := f.c.ValidateAccessToken(t.Context(), f.op.SignJWT(t, "at+jwt", f.claimsFor(nil)), nil); err != nil {
			t.Errorf("typ at+jwt refused with StrictTokenType: %v", err)
		}
	})
	t.Run("clock skew and tolerance", func(t *testing.T) {
		skew, tol := 2*time.Minute, time.Duration(0)
		f := newFixture(t, func(o *Options) { o.ClockSkew, o.ClockTolerance = &skew, &tol })
		tok := f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["exp"] = time.Now().Add(time.Minute).Unix() }))
		if _, err := f.c.ValidateAccessToken(t.Context(), tok, nil); err == nil {
			t.Error("token valid for one more minute accepted with a clock two minutes ahead")
		}
	})
	t.Run("algorithm allow-list", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Algorithms = []string{"ES256"} })
		if _, err := f.c.ValidateAccessToken(t.Context(), f.op.SignJWT(t, "at+jwt", f.claimsFor(nil)), nil); err == nil {
			t.Error("RS256 token accepted with only ES256 allowed")
		}
	})
}

func TestAuthorizeScopesAndGroups(t *testing.T) {
	f := newFixture(t, nil)
	objGroups := []any{map[string]any{"id": "g1", "name": "admins"}, "staff"}
	for _, tc := range []struct {
		name    string
		claims  map[string]any
		opts    ProtectOptions
		missing string // "-" for a pass
	}{
		{"scopes all present", map[string]any{"scope": "read write"}, ProtectOptions{Scopes: []string{"read", "write"}}, "-"},
		{"scope missing", map[string]any{"scope": "read"}, ProtectOptions{Scopes: []string{"read", "write", "admin"}}, "write admin"},
		{"scp array", map[string]any{"scope": nil, "scp": []string{"read", "write"}}, ProtectOptions{Scopes: []string{"write"}}, "-"},
		{"any scope", map[string]any{"scope": "b"}, ProtectOptions{AnyScopes: []string{"a", "b"}}, "-"},
		{"no any scope", map[string]any{"scope": "c"}, ProtectOptions{AnyScopes: []string{"a", "b"}}, "a"},
		{"no any scope, first also required", map[string]any{"scope": "c"}, ProtectOptions{Scopes: []string{"a"}, AnyScopes: []string{"a", "b"}}, "a"},
		{"group string", map[string]any{"groups": []string{"staff"}}, ProtectOptions{Groups: []string{"admins", "staff"}}, "-"},
		{"group by id", map[string]any{"groups": objGroups}, ProtectOptions{Groups: []string{"g1"}}, "-"},
		{"group by name", map[string]any{"groups": objGroups}, ProtectOptions{Groups: []string{"admins"}}, "-"},
		{"group missing", map[string]any{"groups": objGroups}, ProtectOptions{Groups: []string{"owners"}}, ""},
		{"match all", map[string]any{"groups": objGroups}, ProtectOptions{Groups: []string{"admins", "staff"}, MatchAll: true}, "-"},
		{"match all missing one", map[string]any{"groups": objGroups}, ProtectOptions{Groups: []string{"admins", "owners"}, MatchAll: true}, ""},
		{"no groups claim", map[string]any{}, ProtectOptions{Groups: []string{"admins"}}, ""},
		{"empty requirements", map[string]any{}, ProtectOptions{}, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) {
				maps.Copy(c, tc.claims)
				if v, ok := tc.claims["scope"]; ok && v == nil {
					delete(c, "scope")
				}
			}))
			a := f.serve(bearer(tok), &tc.opts)
			if tc.missing == "-" {
				if a.status != 200 {
					t.Fatalf("status %d %v", a.status, a.challenge)
				}
				return
			}
			if a.status != 403 || !challengeHas(a.challenge, `error="insufficient_scope"`) {
				t.Fatalf("status %d %v, want 403 insufficient_scope", a.status, a.challenge)
			}
			if tc.missing != "" && !challengeHas(a.challenge, `scope="`+tc.missing+`"`) {
				t.Errorf("challenge %v lacks scope=%q", a.challenge, tc.missing)
			}
		})
	}
}

func TestGroupsOptions(t *testing.T) {
	yes := true
	f := newFixture(t, func(o *Options) { o.GroupsClaim = "roles"; o.GroupsMatchAll = &yes })
	tok := f.op.SignJWT(t, "at+jwt", f.claimsFor(func(c map[string]any) { c["roles"] = []string{"a"} }))
	if a := f.serve(bearer(tok), &ProtectOptions{Groups: []string{"a"}}); a.status != 200 {
		t.Errorf("custom groups claim: status %d", a.status)
	}
	if a := f.serve(bearer(tok), &ProtectOptions{Groups: []string{"a", "b"}}); a.status != 403 {
		t.Errorf("GroupsMatchAll: status %d, want 403", a.status)
	}
}

func TestProtectSetsClaims(t *testing.T) {
	f := newFixture(t, nil)
	a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{Scopes: "read", Subject: "alice"})), nil)
	if a.status != 200 || a.claims.Subject() != "alice" || !a.claims.HasScope("read") {
		t.Errorf("status %d claims %v", a.status, a.claims)
	}
}
