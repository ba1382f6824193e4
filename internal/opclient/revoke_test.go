package opclient

import (
	"context"
	"errors"
	"net/url"
	"testing"
)

func TestRevoke(t *testing.T) {
	t.Run("form and client authentication", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			method   AuthMethod
			hint     string
			wantBody string
			wantAuth string
		}{
			{"basic with hint", ClientSecretBasic, "refresh_token", "token=t0k%2Fen&token_type_hint=refresh_token", basicAuth},
			{"basic without hint", ClientSecretBasic, "", "token=t0k%2Fen", basicAuth},
			{"post", ClientSecretPost, "access_token",
				"token=t0k%2Fen&token_type_hint=access_token&client_id=my%3Aclient&client_secret=p%40ss+word%2F%2B", ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv, rec := newServer(t, 200, "") // RFC 7009 section 2.2: 200, body ignored
				if err := newClient(srv, tt.method).Revoke(context.Background(), srv.URL, "t0k/en", tt.hint); err != nil {
					t.Fatalf("Revoke: %v", err)
				}
				reqs := rec.requests()
				if len(reqs) != 1 {
					t.Fatalf("%d requests, want 1", len(reqs))
				}
				r := reqs[0]
				if r.method != "POST" || r.contentType != "application/x-www-form-urlencoded" || r.body != tt.wantBody || r.authorization != tt.wantAuth {
					t.Errorf("request %+v, want body %q and Authorization %q", r, tt.wantBody, tt.wantAuth)
				}
			})
		}
	})

	t.Run("client_secret_jwt sends an assertion", func(t *testing.T) {
		srv, rec := newServer(t, 200, "")
		c := newClient(srv, ClientSecretJWT)
		c.ClientSecret = "a-secret-long-enough-for-hs256-signing!!"
		c.Audience = "https://op.example/token"
		if err := c.Revoke(context.Background(), srv.URL, "rt", "refresh_token"); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		f, err := url.ParseQuery(rec.requests()[0].body)
		if err != nil {
			t.Fatal(err)
		}
		if f.Get("token") != "rt" || f.Get("client_id") != clientID || f.Get("client_assertion_type") != assertionType || f.Get("client_assertion") == "" {
			t.Errorf("form %v, want token, client_id and a client assertion", f)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			status int
			body   string
			want   Error
		}{
			{"OAuth error", 400, `{"error":"unsupported_token_type"}`,
				Error{Kind: KindOAuth, Code: "unsupported_token_type", Description: "Token revocation failed", StatusCode: 400}},
			{"401 with an error", 401, `{"error":"invalid_client","error_description":"bad secret"}`,
				Error{Kind: KindOAuth, Code: "invalid_client", Description: "bad secret", StatusCode: 401}},
			{"503", 503, `{"error":"temporarily_unavailable"}`, Error{Kind: KindHTTP, StatusCode: 503}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv, _ := newServer(t, tt.status, tt.body)
				err := newClient(srv, ClientSecretBasic).Revoke(context.Background(), srv.URL, "rt", "")
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T), want an *Error", err, err)
				}
				if e.Kind != tt.want.Kind || e.Code != tt.want.Code || e.Description != tt.want.Description || e.StatusCode != tt.want.StatusCode {
					t.Errorf("error %+v, want %+v", e, tt.want)
				}
			})
		}
	})
}
