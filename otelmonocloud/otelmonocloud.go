// Package otelmonocloud records the events of a monocloud.Client as
// OpenTelemetry metrics. It is a module of its own, so that the monocloud
// module does not depend on OpenTelemetry.
//
// Set the hook that OnEvent returns as monocloud.Options.OnEvent. To trace
// the Client's calls to the provider (discovery, JWKS, token, userinfo,
// PAR, revocation), give it an HTTP client whose transport is otelhttp's:
//
//	opts.HTTPClient = &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}
//
// The spans then follow the request's trace; refreshes, which run detached
// from the request, keep its trace too.
package otelmonocloud

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	monocloud "github.com/monocloud/auth-go"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/monocloud/auth-go/otelmonocloud"

// Attribute keys of the instruments.
const (
	// EventKey is the monocloud.EventKind.
	EventKey = attribute.Key("monocloud.event")
	// OutcomeKey is the event's outcome (monocloud.Event.Outcome).
	OutcomeKey = attribute.Key("monocloud.outcome")
	// OpKey says what failed (monocloud.Event.Op).
	OpKey = attribute.Key("monocloud.op")
	// StatusKey is the HTTP status an auth route answered.
	StatusKey = attribute.Key("http.response.status_code")
)

// instruments are the instruments OnEvent records with.
type instruments struct {
	signIns, shared, signOuts, logouts, errors metric.Int64Counter
	refreshes                                  metric.Float64Histogram
}

// OnEvent returns a hook for monocloud.Options.OnEvent that records the
// Client's events with a meter of mp, or of otel.GetMeterProvider() when mp
// is nil. The hook does not block. The error is that of creating an
// instrument.
//
// It records these instruments:
//
//	monocloud.sign_ins              counter of sign-ins, by monocloud.event (sign_in_started, sign_in_completed)
//	monocloud.refresh.duration      histogram of refresh grants in seconds, by monocloud.outcome (ok, failed, ended)
//	monocloud.refresh.shared        counter of refreshes shared instead of run, by monocloud.outcome (joined, kept, store, coordinator)
//	monocloud.sign_outs             counter of sign-outs, by monocloud.outcome (local, federated)
//	monocloud.back_channel_logouts  counter of back-channel logouts, by monocloud.outcome (ok, no_exp)
//	monocloud.errors                counter of failures, by monocloud.event, monocloud.op and http.response.status_code, where set
//
// Request paths are left out: under the middleware they are the
// application's, of unbounded number.
func OnEvent(mp metric.MeterProvider) (func(context.Context, monocloud.Event), error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	var in instruments
	var errs [6]error
	in.signIns, errs[0] = m.Int64Counter("monocloud.sign_ins", metric.WithUnit("{sign-in}"), metric.WithDescription("Sign-ins started and completed."))
	in.refreshes, errs[1] = m.Float64Histogram("monocloud.refresh.duration", metric.WithUnit("s"), metric.WithDescription("Duration of the token refreshes run, store and provider included."))
	in.shared, errs[2] = m.Int64Counter("monocloud.refresh.shared", metric.WithUnit("{refresh}"), metric.WithDescription("Token refreshes shared instead of run."))
	in.signOuts, errs[3] = m.Int64Counter("monocloud.sign_outs", metric.WithUnit("{sign-out}"), metric.WithDescription("Sign-outs."))
	in.logouts, errs[4] = m.Int64Counter("monocloud.back_channel_logouts", metric.WithUnit("{logout}"), metric.WithDescription("Back-channel logouts received from the provider."))
	in.errors, errs[5] = m.Int64Counter("monocloud.errors", metric.WithUnit("{error}"), metric.WithDescription("Failures: auth routes, token refreshes, the session store and the provider."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return in.record, nil
}

// record records e.
func (in *instruments) record(ctx context.Context, e monocloud.Event) {
	outcome := metric.WithAttributes(OutcomeKey.String(string(e.Outcome)))
	switch e.Kind {
	case monocloud.EventSignInStarted, monocloud.EventSignInCompleted:
		in.signIns.Add(ctx, 1, metric.WithAttributes(EventKey.String(string(e.Kind))))
	case monocloud.EventRefresh:
		in.refreshes.Record(ctx, e.Duration.Seconds(), outcome)
	case monocloud.EventRefreshShared:
		in.shared.Add(ctx, 1, outcome)
	case monocloud.EventSignOut:
		in.signOuts.Add(ctx, 1, outcome)
	case monocloud.EventBackChannelLogout:
		in.logouts.Add(ctx, 1, outcome)
	}
	if e.Err == nil {
		return
	}
	attrs := []attribute.KeyValue{EventKey.String(string(e.Kind))}
	if e.Op != "" {
		attrs = append(attrs, OpKey.String(e.Op))
	}
	if e.Status != 0 {
		attrs = append(attrs, StatusKey.Int(e.Status))
	}
	in.errors.Add(ctx, 1, metric.WithAttributes(attrs...))
}
