package otelmonocloud_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/otelmonocloud"
)

// collect returns the metrics of reader by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelmonocloud.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, otelmonocloud.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// count returns the sum of counter name's points whose attributes hold want.
func count(t *testing.T, metrics map[string]metricdata.Aggregation, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	sum, ok := metrics[name].(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: %T, want an int64 sum", name, metrics[name])
	}
	var n int64
	for _, p := range sum.DataPoints {
		if hasAll(p.Attributes, want) {
			n += p.Value
		}
	}
	return n
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func newReader(t *testing.T) (*sdkmetric.ManualReader, func(context.Context, monocloud.Event)) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	hook, err := otelmonocloud.OnEvent(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	return reader, hook
}

// TestOnEventWithAClient: a sign-in, a forced refresh, a forged callback
// and a sign-out of a real Client against the test provider are counted.
func TestOnEventWithAClient(t *testing.T) {
	reader, hook := newReader(t)
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	client, err := monocloud.New(monocloud.Options{
		TenantDomain: op.Issuer(),
		ClientID:     "test-client",
		ClientSecret: "test-secret",
		AppURL:       appURL,
		CookieSecret: "a-test-cookie-secret-of-32-bytes!",
		HTTPClient:   op.Client(),
		OnEvent:      hook,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /refresh", func(w http.ResponseWriter, r *http.Request) {
		if _, err := client.GetTokens(r.Context(), &monocloud.GetTokensOptions{ForceRefresh: true}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	app.Config.Handler = client.AuthMiddleware(&monocloud.MiddlewareOptions{ProtectedRoutes: []monocloud.ProtectedRoute{}})(mux)
	app.Start()
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	for _, step := range []struct {
		path   string
		status int
	}{
		{"/api/auth/signin", http.StatusNotFound}, // to the provider and back to the app's root
		{"/refresh", http.StatusOK},
		{"/api/auth/callback?state=forged", http.StatusBadRequest},
		{"/api/auth/signout", http.StatusNotFound},
	} {
		resp, err := browser.Get(appURL + step.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != step.status {
			t.Fatalf("GET %s: %d, want %d", step.path, resp.StatusCode, step.status)
		}
	}

	metrics := collect(t, reader)
	if n := count(t, metrics, "monocloud.sign_ins", otelmonocloud.EventKey.String("sign_in_started")); n != 1 {
		t.Errorf("sign-ins started: %d, want 1", n)
	}
	if n := count(t, metrics, "monocloud.sign_ins", otelmonocloud.EventKey.String("sign_in_completed")); n != 1 {
		t.Errorf("sign-ins completed: %d, want 1", n)
	}
	if n := count(t, metrics, "monocloud.errors", otelmonocloud.EventKey.String("callback_failed"), otelmonocloud.StatusKey.Int(400)); n != 1 {
		t.Errorf("callback failures: %d, want 1", n)
	}
	if n := count(t, metrics, "monocloud.sign_outs", otelmonocloud.OutcomeKey.String("federated")); n != 1 {
		t.Errorf("federated sign-outs: %d, want 1", n)
	}
	h, ok := metrics["monocloud.refresh.duration"].(metricdata.Histogram[float64])
	if !ok || len(h.DataPoints) != 1 || h.DataPoints[0].Count != 1 || !hasAll(h.DataPoints[0].Attributes, []attribute.KeyValue{otelmonocloud.OutcomeKey.String("ok")}) {
		t.Errorf("refresh.duration: %+v, want one refresh with outcome ok", metrics["monocloud.refresh.duration"])
	}
}

// TestOnEventRecordsEachKind feeds one event of each kind to the hook.
func TestOnEventRecordsEachKind(t *testing.T) {
	reader, hook := newReader(t)
	ctx := context.Background()
	failed := errors.New("failed")
	for _, e := range []monocloud.Event{
		{Kind: monocloud.EventRefresh, Outcome: monocloud.OutcomeFailed, Duration: 1500 * time.Millisecond, Err: failed},
		{Kind: monocloud.EventRefreshShared, Outcome: monocloud.OutcomeCoordinator},
		{Kind: monocloud.EventBackChannelLogout, Outcome: monocloud.OutcomeOK},
		{Kind: monocloud.EventStoreError, Op: "reading the session", Path: "/app/page", Status: 503, Err: failed},
		{Kind: monocloud.EventProviderError, Op: "discovery", Err: failed},
	} {
		hook(ctx, e)
	}
	metrics := collect(t, reader)
	h := metrics["monocloud.refresh.duration"].(metricdata.Histogram[float64])
	if p := h.DataPoints[0]; p.Sum != 1.5 || !hasAll(p.Attributes, []attribute.KeyValue{otelmonocloud.OutcomeKey.String("failed")}) {
		t.Errorf("refresh.duration point %+v, want 1.5s failed", p)
	}
	for _, c := range []struct {
		name string
		want []attribute.KeyValue
	}{
		{"monocloud.refresh.shared", []attribute.KeyValue{otelmonocloud.OutcomeKey.String("coordinator")}},
		{"monocloud.back_channel_logouts", []attribute.KeyValue{otelmonocloud.OutcomeKey.String("ok")}},
		{"monocloud.errors", []attribute.KeyValue{otelmonocloud.EventKey.String("refresh")}},
		{"monocloud.errors", []attribute.KeyValue{otelmonocloud.EventKey.String("store_error"), otelmonocloud.OpKey.String("reading the session"), otelmonocloud.StatusKey.Int(503)}},
		{"monocloud.errors", []attribute.KeyValue{otelmonocloud.EventKey.String("provider_error"), otelmonocloud.OpKey.String("discovery")}},
	} {
		if n := count(t, metrics, c.name, c.want...); n != 1 {
			t.Errorf("%s %v: %d, want 1", c.name, c.want, n)
		}
	}
	for _, p := range metrics["monocloud.errors"].(metricdata.Sum[int64]).DataPoints {
		if _, ok := p.Attributes.Value("url.path"); ok || p.Attributes.Len() > 3 {
			t.Errorf("errors point with attributes %v: paths are left out", p.Attributes.ToSlice())
		}
	}
}
