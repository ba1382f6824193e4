package monocloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Ready reports whether c can serve sign-ins and sessions now: the provider
// is discovered and its keys fetched, and, with a Coordinator, its
// ended sessions are loaded, and, with a session store, the store answers.
// Its error says which is not ready: it matches ErrProviderUnavailable
// or is a *ValidationError for the provider, a *StoreError for the
// Coordinator and the store. Use it, or ReadyHandler, to gate a deploy.
func (c *Client) Ready(ctx context.Context) error {
	p, err := c.provider(ctx)
	if err != nil {
		return c.reportDiscovery(ctx, err)
	}
	if err := p.verifier.Keys.Load(ctx); err != nil {
		return opError(err)
	}
	if !c.ended.isLoaded() {
		return &StoreError{Op: "loading the coordinator's ended sessions", Err: errEndedNotLoaded}
	}
	return c.backend.ready(ctx)
}

// readyRetryAfter is the Retry-After, in seconds, of ReadyHandler's 503.
const readyRetryAfter = "5"

// ReadyHandler returns a readiness probe: 200 "ok" when Ready returns nil,
// else 503 with Retry-After and a JSON body {"status":"unavailable",
// "reason":...} naming what is not ready (the provider, the coordinator,
// the session store) without internal details, which Ready's error and the
// log carry.
func (c *Client) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := c.Ready(r.Context())
		if err == nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = fmt.Fprint(w, "ok")
			return
		}
		reason := "provider unavailable"
		var se *StoreError
		if errors.As(err, &se) {
			reason = se.Op + " failed"
		}
		w.Header().Set("Retry-After", readyRetryAfter)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
	})
}
