package monocloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"
)

// EventKind is the kind of an Event. Its value is the "event" attribute of
// the log record.
type EventKind string

// The kinds of Event. See Event for the message, level and attributes of
// each.
const (
	EventSignInStarted     EventKind = "sign_in_started"
	EventSignInCompleted   EventKind = "sign_in_completed"
	EventCallbackFailed    EventKind = "callback_failed"
	EventRefresh           EventKind = "refresh"
	EventRefreshShared     EventKind = "refresh_shared"
	EventSignOut           EventKind = "sign_out"
	EventBackChannelLogout EventKind = "back_channel_logout"
	EventRouteFailed       EventKind = "route_failed"
	EventStoreError        EventKind = "store_error"
	EventProviderError     EventKind = "provider_error"
	EventSessionNotWritten EventKind = "session_not_written"
	EventSessionLarge      EventKind = "session_large"
)

// Outcome says how an Event went. Its value is the "outcome" attribute of
// the log record.
type Outcome string

// The outcomes of events. See Event for those of each kind.
const (
	OutcomeOK               Outcome = "ok"
	OutcomeFailed           Outcome = "failed"
	OutcomeEnded            Outcome = "ended"
	OutcomeReturnURLDropped Outcome = "return_url_dropped"
	OutcomeJoined           Outcome = "joined"
	OutcomeKept             Outcome = "kept"
	OutcomeStore            Outcome = "store"
	OutcomeCoordinator      Outcome = "coordinator"
	OutcomeLocal            Outcome = "local"
	OutcomeFederated        Outcome = "federated"
	OutcomeNoExp            Outcome = "no_exp"
)

// Event is something the Client did, or a failure, as logged. Fields that
// do not apply to its Kind are zero.
//
// The Client reports what it does as events: each one is logged through
// Options.Logger and handed to Options.OnEvent, by one function, so the log
// and the hook always agree. Routine events are logged at Debug, failures
// at Warn or Error: at Info, an application that runs normally logs
// nothing.
//
// Every log record has the message of its kind, the attribute "event" (the
// EventKind) and, when set, these attributes, named after the Event fields
// that hold them:
//
//	outcome   Event.Outcome: what happened, from a small fixed set per kind
//	duration  Event.Duration: how long a refresh took (time.Duration)
//	session   Event.Session: a 16-hex-digit digest of the session's key
//	op        Event.Op: what was being done when the store or provider failed
//	path      Event.Path: the request path of an auth route that failed
//	status    Event.Status: the HTTP status that route answered
//	error     Event.Err: the error, as text
//
// The kinds, each with its message, level and attributes:
//
//	sign_in_started      "monocloud: sign-in started"
//	    Debug. outcome ok, or return_url_dropped (Warn): the return URL did
//	    not fit in the state cookie, and the user will return to the app's root.
//	sign_in_completed    "monocloud: sign-in completed"
//	    Debug. session.
//	callback_failed      "monocloud: callback failed"
//	    Warn, Error for a 5xx status. path, status, error.
//	refresh              "monocloud: token refresh"
//	    Debug, Warn when failed. outcome ok, failed, or ended (the session
//	    ended while it ran); duration, session, error.
//	refresh_shared       "monocloud: shared token refresh used"
//	    Debug. session; outcome joined (a refresh in flight in this
//	    process), kept (its kept result, for a cookie from before it),
//	    store (another instance's, read from a SessionLocker store) or
//	    coordinator (another instance's, shared by the Coordinator).
//	sign_out             "monocloud: signed out"
//	    Debug. outcome local, or federated (at the provider too); session.
//	back_channel_logout  "monocloud: back-channel logout"
//	    Debug. outcome ok, or no_exp (Warn): the logout token had no exp
//	    and was accepted as recent.
//	route_failed         "monocloud: auth route failed"
//	    Warn, Error for a 5xx status. path, status, error.
//	store_error          "monocloud: session store failed"
//	    Error. op, error; path and status when a route answers it.
//	provider_error       "monocloud: provider call failed"
//	    Warn, Error when a route answers it. op or path and status, error.
//	session_not_written  "monocloud: session change not written"
//	    Warn. op, session, error: for example, the response header was
//	    written before GetTokens refreshed the session.
//	session_large        "monocloud: session cookies large"
//	    Warn. session, error: the session's cookies, names and values,
//	    passed 8 KB, the Cookie header limit of common front ends (nginx's
//	    default); past it they refuse every request of the browser before
//	    it reaches the app. See docs/known-limits.md.
//
// A failing auth route (or the middleware) reports one event for its
// failure: store_error for a *StoreError, provider_error for
// ErrProviderUnavailable or an *HTTPError, else callback_failed on the
// callback route and route_failed on the others. It is reported whether or
// not Options.OnError handles the error. An operation that made a failed
// discovery attempt reports it first, once (provider_error, op
// "discovery"), whether or not it then fails. store_error and
// provider_error without a path are failures the request went on without:
// a rotated refresh token or a shared refresh not saved, the Coordinator's
// ended sessions not watched, a stale session not deleted, tokens not
// revoked at sign-out. One fault can show as several events: a refresh
// that failed and the route that answered its error.
//
// No event holds a token, an authorization code, a cookie value, the client
// secret or assertion, a state or nonce value, or the user's sub or email:
// sessions are told apart by the digest in Event.Session. Error texts are
// the package's own, which hold none of those either; a callback's
// error_description, which the provider or anyone else may set, is in the
// error text of callback_failed.
type Event struct {
	Kind EventKind
	// Outcome says how it went, from the outcomes that apply to Kind.
	Outcome Outcome
	// Duration is how long a refresh took, provider call and store
	// included.
	Duration time.Duration
	// Session is a digest of the session's key (16 hex digits): the same
	// for every event of one session, and useless to reach it.
	Session string
	// Op says what was being done when the store or the provider failed,
	// or when a session change was not written.
	Op string
	// Path and Status are the request path of an auth route that failed
	// and the status it answers (or would answer, when Options.OnError
	// handles the error).
	Path   string
	Status int
	// Err is the error of a failure.
	Err error
}

// messages are the stable log messages of the event kinds.
var messages = map[EventKind]string{
	EventSignInStarted:     "monocloud: sign-in started",
	EventSignInCompleted:   "monocloud: sign-in completed",
	EventCallbackFailed:    "monocloud: callback failed",
	EventRefresh:           "monocloud: token refresh",
	EventRefreshShared:     "monocloud: shared token refresh used",
	EventSignOut:           "monocloud: signed out",
	EventBackChannelLogout: "monocloud: back-channel logout",
	EventRouteFailed:       "monocloud: auth route failed",
	EventStoreError:        "monocloud: session store failed",
	EventProviderError:     "monocloud: provider call failed",
	EventSessionNotWritten: "monocloud: session change not written",
	EventSessionLarge:      "monocloud: session cookies large",
}

// level is the level e is logged at.
func (e Event) level() slog.Level {
	switch e.Kind {
	case EventCallbackFailed, EventRouteFailed:
		if e.Status >= 500 {
			return slog.LevelError
		}
		return slog.LevelWarn
	case EventStoreError:
		return slog.LevelError
	case EventProviderError:
		if e.Path != "" {
			return slog.LevelError
		}
		return slog.LevelWarn
	case EventSessionNotWritten, EventSessionLarge:
		return slog.LevelWarn
	}
	switch e.Outcome {
	case OutcomeFailed, OutcomeReturnURLDropped, OutcomeNoExp:
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

// emit reports e to Options.OnEvent and logs it.
func (c *Client) emit(ctx context.Context, e Event) {
	if hook := c.cfg.opts.OnEvent; hook != nil {
		hook(ctx, e)
	}
	level := e.level()
	if !c.cfg.opts.Logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 1, 6)
	attrs[0] = slog.String("event", string(e.Kind))
	if e.Outcome != "" {
		attrs = append(attrs, slog.String("outcome", string(e.Outcome)))
	}
	if e.Kind == EventRefresh {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	if e.Session != "" {
		attrs = append(attrs, slog.String("session", e.Session))
	}
	if e.Op != "" {
		attrs = append(attrs, slog.String("op", e.Op))
	}
	if e.Path != "" {
		attrs = append(attrs, slog.String("path", e.Path), slog.Int("status", e.Status))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	c.cfg.opts.Logger.LogAttrs(ctx, level, messages[e.Kind], attrs...)
}

// emitQueued emits the events queued in st (see requestState.queue). The
// caller holds no lock and runs no load.
func (st *requestState) emitQueued(ctx context.Context) {
	st.mu.Lock()
	events := st.queued
	st.queued = nil
	st.mu.Unlock()
	for _, e := range events {
		st.c.emit(ctx, e)
	}
}

// emitFailure reports err, which an auth route answers with status, as one
// event: see Event. callback marks the callback route.
func (c *Client) emitFailure(ctx context.Context, path string, status int, err error, callback bool) {
	e := Event{Kind: EventRouteFailed, Path: path, Status: status, Err: err}
	var (
		se *StoreError
		he *HTTPError
	)
	switch {
	case errors.As(err, &se):
		e.Kind, e.Op = EventStoreError, se.Op
	case errors.Is(err, ErrProviderUnavailable), errors.As(err, &he):
		e.Kind = EventProviderError
	case callback:
		e.Kind = EventCallbackFailed
	}
	c.emit(ctx, e)
}

// sessionTag returns the digest of a session key that events carry.
func sessionTag(key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("monocloud session " + key))
	return hex.EncodeToString(sum[:8])
}
