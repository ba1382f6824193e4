package otelmonocloud

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/monocloud/auth-go/backend"
)

// ReasonKey is why a token was refused (backend.Event.Reason).
const ReasonKey = attribute.Key("monocloud.reason")

// backendInstruments are the instruments OnBackendEvent records with.
type backendInstruments struct {
	tokens, errors metric.Int64Counter
}

// OnBackendEvent returns a hook for backend.Options.OnEvent that records
// an API's events with a meter of mp, or of otel.GetMeterProvider() when
// mp is nil. The hook does not block. The error is that of creating an
// instrument.
//
// It records these instruments:
//
//	monocloud.backend.tokens  counter of requests checked, by monocloud.event (token_accepted, token_rejected),
//	                          monocloud.outcome (how it was accepted, or the refusal's error code),
//	                          monocloud.reason and http.response.status_code for refusals
//	monocloud.backend.errors  counter of failures of the authorization server, caches and configuration,
//	                          by monocloud.event and monocloud.op
func OnBackendEvent(mp metric.MeterProvider) (func(context.Context, backend.Event), error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	var in backendInstruments
	var errs [2]error
	in.tokens, errs[0] = m.Int64Counter("monocloud.backend.tokens", metric.WithUnit("{request}"), metric.WithDescription("Requests whose access token was checked, accepted or refused."))
	in.errors, errs[1] = m.Int64Counter("monocloud.backend.errors", metric.WithUnit("{error}"), metric.WithDescription("Failures of the authorization server, the caches and the configuration."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return in.record, nil
}

// record records e.
func (in *backendInstruments) record(ctx context.Context, e backend.Event) {
	switch e.Kind {
	case backend.EventTokenAccepted:
		in.tokens.Add(ctx, 1, metric.WithAttributes(EventKey.String(string(e.Kind)), OutcomeKey.String(e.Outcome)))
	case backend.EventTokenRejected:
		in.tokens.Add(ctx, 1, metric.WithAttributes(EventKey.String(string(e.Kind)), OutcomeKey.String(e.Outcome),
			ReasonKey.String(e.Reason), StatusKey.Int(e.Status)))
	case backend.EventProviderError, backend.EventCacheError, backend.EventConfigError:
		in.errors.Add(ctx, 1, metric.WithAttributes(EventKey.String(string(e.Kind)), OpKey.String(e.Op)))
	case backend.EventKeysFetched:
		if e.Err != nil {
			in.errors.Add(ctx, 1, metric.WithAttributes(EventKey.String(string(e.Kind)), OpKey.String("jwks")))
		}
	}
}
