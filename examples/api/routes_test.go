package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/monocloudtest"
)

const audience = "https://api.example.com"

func TestRoutes(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	api, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: audience, HTTPClient: op.Client()})
	if err != nil {
		t.Fatal(err)
	}
	h := routes(api)
	reader := op.MintAccessToken(t, monocloudtest.AccessToken{Audience: audience, Scopes: "read:orders"})
	admin := op.MintAccessToken(t, monocloudtest.AccessToken{Audience: audience, Claims: map[string]any{"groups": []any{map[string]any{"id": "g1", "name": "admin"}}}})
	for _, tc := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/api/me", "", http.StatusUnauthorized},
		{"GET", "/api/me", reader, http.StatusOK},
		{"GET", "/api/orders", reader, http.StatusOK},
		{"POST", "/api/orders", reader, http.StatusForbidden},
		{"GET", "/api/admin/stats", reader, http.StatusForbidden},
		{"GET", "/api/admin/stats", admin, http.StatusOK},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.token != "" {
			r.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tc.method, tc.path, w.Code, tc.status, w.Body)
		}
	}
}
