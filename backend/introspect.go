package backend

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/monocloud/auth-go/internal/expiring"
	"github.com/monocloud/auth-go/internal/opclient"
)

// IntrospectionCache shares introspection results between instances.
// Keys are hex SHA-256 digests of tokens, never tokens; values are the
// introspection response as JSON ({"active":false} for an inactive
// token). Each call's ctx expires after 500 ms, and Set is called once
// the requests are answered. Errors are logged and the token is then
// introspected: a cache outage never refuses a valid token.
type IntrospectionCache interface {
	// Get returns the value of key, or nil and no error if there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// negativeTTL caps how long an inactive verdict is cached: short, as a
// random token costs one introspection per negativeTTL at most, and the
// cache stays small.
const negativeTTL = 30 * time.Second

// sharedCacheTimeout bounds each operation of the shared cache, apart
// from ResponseTimeout, which bounds the introspection: a cache that
// hangs delays a token's first request by this much at most before it is
// introspected.
const sharedCacheTimeout = 500 * time.Millisecond

// introspector introspects opaque tokens (RFC 7662): one call per token
// for concurrent requests, results cached by token hash in memory (and in
// the shared cache, if any).
type introspector struct {
	c        *Client
	positive *expiring.Map[tokenKey, *grant]
	negative *expiring.Map[tokenKey, time.Time] // inactive, until

	mu       sync.Mutex
	inFlight map[tokenKey]*flight
}

// flight is an introspection in progress, shared by the requests that
// carry its token.
type flight struct {
	done    chan struct{}
	grant   *grant
	outcome string
	err     *Error
}

func newIntrospector(c *Client) *introspector {
	in := &introspector{c: c, inFlight: make(map[tokenKey]*flight)}
	if ttl := c.cfg.introspectionTTL; ttl > 0 {
		in.positive = expiring.New[tokenKey, *grant](c.cfg.cacheSize, ttl)
		in.negative = expiring.New[tokenKey, time.Time](c.cfg.cacheSize, min(ttl, negativeTTL))
	}
	return in
}

// grant returns the grant of an active token from the caches, else from
// the one introspection in flight for it.
func (in *introspector) grant(ctx context.Context, token string, key tokenKey) (*grant, string, *Error) {
	c := in.c
	if c.cfg.clientID == "" {
		c.reportConfig(ctx, "introspection_not_configured", errors.New("an opaque token was refused: set ClientID and ClientSecret (MONOCLOUD_BACKEND_CLIENT_ID, MONOCLOUD_BACKEND_CLIENT_SECRET) to introspect opaque tokens"))
		return nil, "", refuse(ErrInvalidToken, "introspection_not_configured", nil)
	}
	if g, err, ok := in.cached(key); ok {
		return g, outcomeIntrospectionCached, err
	}
	return in.await(ctx, token, key)
}

// cached returns the verdict on key cached in memory, if any.
func (in *introspector) cached(key tokenKey) (*grant, *Error, bool) {
	if in.positive == nil {
		return nil, nil, false
	}
	now := in.c.now()
	if g, ok := in.positive.Get(key, now); ok && now.Before(g.until) {
		return g, nil, true
	}
	if _, ok := in.negative.Get(key, now); ok {
		return nil, refuse(ErrInvalidToken, "refused_cached", nil), true
	}
	return nil, nil, false
}

// await returns the verdict of the introspection in flight for key,
// starting one if there is none. It looks in the cache again under in.mu,
// where a flight stores its verdict before it ends, so that a request that
// missed the cache just before a flight ended does not introspect again.
func (in *introspector) await(ctx context.Context, token string, key tokenKey) (*grant, string, *Error) {
	in.mu.Lock()
	if g, err, ok := in.cached(key); ok {
		in.mu.Unlock()
		return g, outcomeIntrospectionCached, err
	}
	f, ok := in.inFlight[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		in.inFlight[key] = f
		go in.run(context.WithoutCancel(ctx), token, key, f)
	}
	in.mu.Unlock()
	select {
	case <-f.done:
		return f.grant, f.outcome, f.err
	case <-ctx.Done():
		e := refuse(ErrUnavailable, "introspection_wait_cancelled", ctx.Err())
		e.RetryAfter = retryAfter
		return nil, "", e
	}
}

// run makes the introspection of f, caches its verdict in memory, ends f,
// and then shares a fresh verdict, so that no request waits for the
// shared cache's write. The verdict is encoded before f ends: its claims
// share nested values with the response, and handlers may write to them.
func (in *introspector) run(ctx context.Context, token string, key tokenKey, f *flight) {
	resp, ttl := in.introspect(ctx, token, key, f)
	value := in.encode(ctx, key, resp, ttl)
	in.mu.Lock()
	delete(in.inFlight, key)
	in.mu.Unlock()
	close(f.done)
	in.share(ctx, key, value, ttl)
}

// introspect fills f from the shared cache, else by introspection, and
// caches the verdict in memory. It returns the response of a fresh
// verdict to share and for how long (0: not to share).
func (in *introspector) introspect(ctx context.Context, token string, key tokenKey, f *flight) (map[string]any, time.Duration) {
	shared, ok := in.sharedGet(ctx, key)
	ctx, cancel := context.WithTimeout(ctx, in.c.cfg.responseTimeout)
	defer cancel()
	if ok {
		if f.grant, _, f.err = in.verdict(ctx, shared, key); f.err == nil {
			f.outcome = outcomeIntrospectionCached
		}
		return nil, 0
	}
	resp, err := in.call(ctx, token)
	if err != nil {
		if err.Code == ErrInvalidToken { // refused by the provider: as final as inactive
			in.cacheInactive(key, in.c.now())
		}
		f.err = err
		return nil, 0
	}
	f.outcome = outcomeIntrospected
	var ttl time.Duration
	f.grant, ttl, f.err = in.verdict(ctx, resp, key)
	if f.grant == nil {
		resp = map[string]any{"active": false}
	}
	return resp, ttl
}

// verdict turns an introspection response into a grant, or the refusal of
// an inactive or invalid token, and caches it in memory. It returns for
// how long the verdict may be shared: 0 if it is not the provider's alone
// (the token is active, but not for this API) or nothing is cached.
func (in *introspector) verdict(ctx context.Context, resp map[string]any, key tokenKey) (*grant, time.Duration, *Error) {
	c := in.c
	now := c.now()
	if active, _ := resp["active"].(bool); !active {
		return nil, in.cacheInactive(key, now), refuse(ErrInvalidToken, "inactive", nil)
	}
	doc, err := c.disc.Get(ctx)
	if err != nil {
		return nil, 0, c.providerFailure(ctx, err)
	}
	claims := make(Claims, len(resp))
	for k, v := range resp {
		if k != "active" {
			claims[k] = v
		}
	}
	if e := c.checkClaims(claims, doc.Issuer, false, false); e != nil {
		// Active, but not for this API (another audience, expired): as
		// final as inactive, so cached likewise, here only.
		in.cacheInactive(key, now)
		return nil, 0, e
	}
	until := now.Add(c.cfg.introspectionTTL)
	if exp, ok := claims.ExpiresAt(); ok && exp.Before(until) {
		until = exp
	}
	g := newGrant(claims, c.cfg.groupsClaim, until)
	if in.positive == nil {
		return g, 0, nil
	}
	in.positive.Put(key, g, now)
	return g, until.Sub(now), nil
}

// cacheInactive caches in memory, briefly, the verdict that a token is
// inactive or invalid, and returns for how long (0: not cached).
func (in *introspector) cacheInactive(key tokenKey, now time.Time) time.Duration {
	if in.positive == nil {
		return 0
	}
	ttl := min(in.c.cfg.introspectionTTL, negativeTTL)
	in.negative.Put(key, now.Add(ttl), now)
	return ttl
}

// encode returns the JSON of an introspection response to share for ttl,
// or nil if there is no shared cache or nothing to share; a failure is
// logged.
func (in *introspector) encode(ctx context.Context, key tokenKey, resp map[string]any, ttl time.Duration) []byte {
	if in.c.cfg.sharedCache == nil || ttl <= 0 {
		return nil
	}
	value, err := json.Marshal(resp)
	if err != nil {
		in.c.emit(ctx, Event{Kind: EventCacheError, Op: "set", Token: tokenTag(key), Err: err})
		return nil
	}
	return value
}

// share stores value, an encoded introspection response, in the shared
// cache for ttl, if value is not nil; a failure is logged.
func (in *introspector) share(ctx context.Context, key tokenKey, value []byte, ttl time.Duration) {
	if value == nil {
		return
	}
	c := in.c
	setCtx, cancel := context.WithTimeout(ctx, sharedCacheTimeout)
	defer cancel()
	if err := c.cfg.sharedCache.Set(setCtx, hex.EncodeToString(key[:]), value, ttl); err != nil {
		c.emit(ctx, Event{Kind: EventCacheError, Op: "set", Token: tokenTag(key), Err: err})
	}
}

// sharedGet reads the verdict on key in the shared cache, if any; a
// failure is logged and counts as a miss.
func (in *introspector) sharedGet(ctx context.Context, key tokenKey) (map[string]any, bool) {
	sc := in.c.cfg.sharedCache
	if sc == nil || in.positive == nil {
		return nil, false
	}
	getCtx, cancel := context.WithTimeout(ctx, sharedCacheTimeout)
	defer cancel()
	value, err := sc.Get(getCtx, hex.EncodeToString(key[:]))
	if err == nil && value == nil {
		return nil, false
	}
	var resp map[string]any
	if err == nil {
		err = json.Unmarshal(value, &resp)
	}
	if err != nil || resp == nil {
		in.c.emit(ctx, Event{Kind: EventCacheError, Op: "get", Token: tokenTag(key), Err: err})
		return nil, false
	}
	return resp, true
}

// call introspects token at the provider. A failure is answered 503 if
// the provider could not answer, 401 if it refused the token itself, and
// 500 if its answer proves the configuration wrong.
func (in *introspector) call(ctx context.Context, token string) (map[string]any, *Error) {
	c := in.c
	client, endpoint, err := c.introspectionClient(ctx)
	if err != nil {
		return nil, err
	}
	resp, cerr := client.Introspect(ctx, endpoint, token)
	if cerr == nil {
		return resp, nil
	}
	var oe *opclient.Error
	errors.As(cerr, &oe)
	switch {
	case cannotAnswer(oe):
		c.emit(ctx, Event{Kind: EventProviderError, Op: "introspection", Status: http.StatusServiceUnavailable, Err: cerr})
		e := refuse(ErrUnavailable, "introspection_unavailable", cerr)
		e.RetryAfter = retryAfter
		return nil, e
	case refusesToken(oe):
		return nil, refuse(ErrInvalidToken, "introspection_bad_request", cerr)
	}
	c.reportConfig(ctx, "introspection_refused", cerr)
	return nil, refuse(ErrMisconfigured, "introspection_refused", cerr)
}

// cannotAnswer reports whether a failed introspection got no usable
// answer: no response, a server error, a rate limit or a timeout, or a
// 200 that is not a JSON object.
func cannotAnswer(oe *opclient.Error) bool {
	if oe == nil || oe.Kind != opclient.KindHTTP {
		return false
	}
	s := oe.StatusCode
	return s == 0 || s == http.StatusOK || s >= 500 || s == http.StatusTooManyRequests || s == http.StatusRequestTimeout
}

// refusesToken reports whether a failed introspection refused the token
// rather than the API: a 400 whose error, if any, does not blame the
// client (RFC 7662 section 2.3, RFC 6749 section 5.2), as a client can
// cause one with a malformed token. A 401 or 403 (the API may not
// introspect) and a 404 (no endpoint there) prove the configuration wrong.
func refusesToken(oe *opclient.Error) bool {
	if oe == nil || oe.StatusCode != http.StatusBadRequest {
		return false
	}
	return oe.Code != "invalid_client" && oe.Code != "unauthorized_client"
}

// introspectionClient returns the client and endpoint of introspection:
// introspection_endpoint, or for the TLS client authentication methods its
// mTLS alias (RFC 8705 section 5): that of mtls_endpoint_aliases if the
// provider publishes one, else introspection_endpoint itself; that of the
// trust store's mtls_additional_endpoint_aliases, which must be published,
// if TrustStoreID is set.
func (c *Client) introspectionClient(ctx context.Context) (*opclient.Client, string, *Error) {
	doc, err := c.disc.Get(ctx)
	if err != nil {
		return nil, "", c.providerFailure(ctx, err)
	}
	endpoint, name := doc.IntrospectionEndpoint, "introspection_endpoint"
	if c.cfg.authMethod.MutualTLS() {
		aliases, member := doc.MTLSAliases(c.cfg.trustStoreID)
		if alias := aliases["introspection_endpoint"]; alias != "" || c.cfg.trustStoreID != "" {
			endpoint, name = alias, member+".introspection_endpoint"
		}
	}
	if endpoint == "" {
		err := errors.New(name + " is required but not available in the issuer metadata")
		c.reportConfig(ctx, "no_introspection_endpoint", err)
		return nil, "", refuse(ErrMisconfigured, "no_introspection_endpoint", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.introspect == nil {
		c.introspect = &opclient.Client{
			HTTPClient:   c.cfg.httpClient,
			ClientID:     c.cfg.clientID,
			ClientSecret: c.cfg.clientSecret,
			AuthMethod:   c.cfg.authMethod,
			Key:          c.cfg.assertionKey,
			Audience:     doc.Issuer,
			Now:          func() time.Time { return c.now() },
		}
	}
	return c.introspect, endpoint, nil
}
