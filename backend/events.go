package backend

import (
	"context"
	"encoding/hex"
	"log/slog"
)

// EventKind is the kind of an Event: the "event" attribute of its log
// record.
type EventKind string

// The kinds of Event.
const (
	// EventTokenAccepted (Debug): a request or token passed. Outcome says
	// how: jwt, jwt_cached, introspected or introspection_cached.
	EventTokenAccepted EventKind = "token_accepted"
	// EventTokenRejected (Debug; Info for 403): a request or token was
	// refused. Outcome is the condition's error code, Reason says why,
	// Status is the HTTP status.
	EventTokenRejected EventKind = "token_rejected"
	// EventProviderError (Warn; Error when it made a request fail): a
	// call to the authorization server failed. Op is discovery, jwks or
	// introspection.
	EventProviderError EventKind = "provider_error"
	// EventCacheError (Warn): the shared introspection cache or the DPoP
	// replay store failed. Op is get, set or replay. The token was then
	// introspected (the cache), or refused with 503 (the replay store).
	EventCacheError EventKind = "cache_error"
	// EventKeysFetched (Debug): the provider's keys were fetched. Outcome
	// is refresh (in the background) or fetch.
	EventKeysFetched EventKind = "keys_fetched"
	// EventConfigError (Error, once per cause): the configuration cannot
	// serve a request, such as an opaque token when introspection is not
	// configured.
	EventConfigError EventKind = "config_error"
)

// Event is something the Client did or refused, as logged through
// Options.Logger and handed to Options.OnEvent by one function, so that
// the log and the hook agree. No event holds a token: Token is a hash
// prefix that tells tokens apart and is useless to use one.
type Event struct {
	Kind EventKind
	// Outcome says how it went, from a small fixed set per kind.
	Outcome string
	// Reason says why a token was refused (see Error.Reason).
	Reason string
	// Status is the HTTP status a refusal is answered with.
	Status int
	// Token is the first 12 hex digits of the SHA-256 of the token, if
	// one was read.
	Token string
	// Op is what was being done when the provider or a cache failed.
	Op string
	// Err is the error of a failure or refusal.
	Err error
}

var eventMessages = map[EventKind]string{
	EventTokenAccepted: "monocloud backend: token accepted",
	EventTokenRejected: "monocloud backend: token rejected",
	EventProviderError: "monocloud backend: authorization server call failed",
	EventCacheError:    "monocloud backend: cache failed",
	EventKeysFetched:   "monocloud backend: keys fetched",
	EventConfigError:   "monocloud backend: configuration error",
}

// level is the level e is logged at.
func (e Event) level() slog.Level {
	switch e.Kind {
	case EventConfigError:
		return slog.LevelError
	case EventProviderError:
		if e.Status >= 500 {
			return slog.LevelError
		}
		return slog.LevelWarn
	case EventCacheError:
		return slog.LevelWarn
	case EventKeysFetched:
		if e.Err != nil {
			return slog.LevelWarn
		}
	case EventTokenRejected:
		if e.Status == 403 {
			return slog.LevelInfo
		}
	}
	return slog.LevelDebug
}

// observed reports whether an event at level would reach anyone, so that
// the request path builds none otherwise.
func (c *Client) observed(ctx context.Context, level slog.Level) bool {
	return c.cfg.onEvent != nil || c.cfg.logger.Enabled(ctx, level)
}

// emit reports e to Options.OnEvent and logs it.
func (c *Client) emit(ctx context.Context, e Event) {
	if c.cfg.onEvent != nil {
		c.cfg.onEvent(ctx, e)
	}
	level := e.level()
	if !c.cfg.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 1, 8)
	attrs[0] = slog.String("event", string(e.Kind))
	for _, a := range []struct{ k, v string }{{"outcome", e.Outcome}, {"reason", e.Reason}, {"token", e.Token}, {"op", e.Op}} {
		if a.v != "" {
			attrs = append(attrs, slog.String(a.k, a.v))
		}
	}
	if e.Status != 0 {
		attrs = append(attrs, slog.Int("status", e.Status))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	c.cfg.logger.LogAttrs(ctx, level, eventMessages[e.Kind], attrs...)
}

// tokenTag returns the event tag of a token whose hash is key.
func tokenTag(key tokenKey) string {
	return hex.EncodeToString(key[:6])
}
