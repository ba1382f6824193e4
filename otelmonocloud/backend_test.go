package otelmonocloud_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/otelmonocloud"
)

func TestOnBackendEvent(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	hook, err := otelmonocloud.OnBackendEvent(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	api, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: "https://api", HTTPClient: op.Client(), OnEvent: hook, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := api.Protect(&backend.ProtectOptions{Scopes: []string{"read"}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, scope := range []string{"read", "read", "write"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+op.MintAccessToken(t, monocloudtest.AccessToken{Audience: "https://api", Scopes: scope}))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	metrics := collect(t, reader)
	if n := count(t, metrics, "monocloud.backend.tokens", otelmonocloud.EventKey.String("token_accepted"), otelmonocloud.OutcomeKey.String("jwt")); n != 2 {
		t.Errorf("%d accepted, want 2", n)
	}
	if n := count(t, metrics, "monocloud.backend.tokens", otelmonocloud.ReasonKey.String("scope"), attribute.Int("http.response.status_code", 403)); n != 1 {
		t.Errorf("%d refused for scope, want 1", n)
	}
}
