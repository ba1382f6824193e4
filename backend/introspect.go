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
// token). Errors are logged and the token is then introspected: a cache
// outage never refuses a valid token.
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

// introspector introspects opaque tokens (RFC 7662): one call per token
// for concurrent requests, results cached by token hash in memory (and in
// the shared cache, if any).
type introspector struct {
	c        *Client
	positive *expiring.Map[tokenKey, cachedClaims]
	negative *expiring.Map[tokenKey, time.Time] // inactive, until

	mu       sync.Mutex
	inFlight map[tokenKey]*flight
}

// flight is an introspection in progress, shared by the requests that
// carry its token.
type flight struct {
	done    chan struct{}
	claims  Claims
	outcome string
	err     *Error
}

func newIntrospector(c *Client) *introspector {
	in := &introspector{c: c, inFlight: make(map[tokenKey]*flight)}
	if ttl := c.cfg.introspectionTTL; ttl > 0 {
		in.positive = expiring.New[tokenKey, cachedClaims](c.cfg.cacheSize, ttl)
		in.negative = expiring.New[tokenKey, time.Time](c.cfg.cacheSize, min(ttl, negativeTTL))
	}
	return in
}

// claims returns the claims of an active token from the caches, else from
// the one introspection in flight for it.
func (in *introspector) claims(ctx context.Context, token string, key tokenKey) (Claims, string, *Error) {
	c := in.c
	if c.cfg.clientID == "" {
		c.reportConfig(ctx, "introspection_not_configured", errors.New("an opaque token was refused: set ClientID and ClientSecret (MONOCLOUD_BACKEND_CLIENT_ID, MONOCLOUD_BACKEND_CLIENT_SECRET) to introspect opaque tokens"))
		return nil, "", refuse(ErrInvalidToken, "introspection_not_configured", nil)
	}
	if in.positive != nil {
		now := c.now()
		if e, ok := in.positive.Get(key, now); ok && now.Before(e.until) {
			return e.claims, outcomeIntrospectionCached, nil
		}
		if _, ok := in.negative.Get(key, now); ok {
			return nil, "", refuse(ErrInvalidToken, "refused_cached", nil)
		}
	}
	in.mu.Lock()
	f, ok := in.inFlight[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		in.inFlight[key] = f
		go in.run(context.WithoutCancel(ctx), token, key, f)
	}
	in.mu.Unlock()
	select {
	case <-f.done:
		return f.claims, f.outcome, f.err
	case <-ctx.Done():
		e := refuse(ErrUnavailable, "introspection_wait_cancelled", ctx.Err())
		e.RetryAfter = retryAfter
		return nil, "", e
	}
}

// run makes the introspection of f and caches its verdict.
func (in *introspector) run(ctx context.Context, token string, key tokenKey, f *flight) {
	defer func() {
		in.mu.Lock()
		delete(in.inFlight, key)
		in.mu.Unlock()
		close(f.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, in.c.cfg.responseTimeout)
	defer cancel()
	hexKey := hex.EncodeToString(key[:])
	if raw, ok := in.sharedGet(ctx, hexKey); ok {
		if f.claims, f.err = in.verdict(ctx, raw, key, false); f.err == nil {
			f.outcome = outcomeIntrospectionCached
		}
		return
	}
	raw, err := in.call(ctx, token)
	if err != nil {
		f.err = err
		return
	}
	f.outcome = outcomeIntrospected
	f.claims, f.err = in.verdict(ctx, raw, key, true)
}

// verdict turns an introspection response into claims, or the refusal of
// an inactive or invalid token, and caches it (in the shared cache too if
// it is fresh).
func (in *introspector) verdict(ctx context.Context, resp map[string]any, key tokenKey, fresh bool) (Claims, *Error) {
	c := in.c
	now := c.now()
	if active, _ := resp["active"].(bool); !active {
		in.cacheInactive(ctx, key, now, fresh)
		return nil, refuse(ErrInvalidToken, "inactive", nil)
	}
	doc, err := c.disc.Get(ctx)
	if err != nil {
		return nil, c.providerFailure(ctx, err)
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
		in.cacheInactive(ctx, key, now, false)
		return nil, e
	}
	until := now.Add(c.cfg.introspectionTTL)
	if exp, ok := claims.ExpiresAt(); ok && exp.Before(until) {
		until = exp
	}
	if in.positive != nil {
		in.positive.Put(key, cachedClaims{claims: claims, until: until}, now)
		if fresh {
			in.share(ctx, key, resp, until.Sub(now))
		}
	}
	return claims, nil
}

// cacheInactive caches the verdict that a token is inactive or invalid,
// briefly; in the shared cache too if the verdict is fresh.
func (in *introspector) cacheInactive(ctx context.Context, key tokenKey, now time.Time, fresh bool) {
	if in.positive == nil {
		return
	}
	ttl := min(in.c.cfg.introspectionTTL, negativeTTL)
	in.negative.Put(key, now.Add(ttl), now)
	if fresh {
		in.share(ctx, key, map[string]any{"active": false}, ttl)
	}
}

// share stores an introspection response in the shared cache, if any; a
// failure is logged.
func (in *introspector) share(ctx context.Context, key tokenKey, resp map[string]any, ttl time.Duration) {
	c := in.c
	if c.cfg.sharedCache == nil || ttl <= 0 {
		return
	}
	value, err := json.Marshal(resp)
	if err == nil {
		err = c.cfg.sharedCache.Set(ctx, hex.EncodeToString(key[:]), value, ttl)
	}
	if err != nil {
		c.emit(ctx, Event{Kind: EventCacheError, Op: "set", Token: tokenTag(key), Err: err})
	}
}

// sharedGet reads the shared cache; a failure is logged and counts as a
// miss.
func (in *introspector) sharedGet(ctx context.Context, hexKey string) (map[string]any, bool) {
	sc := in.c.cfg.sharedCache
	if sc == nil || in.positive == nil {
		return nil, false
	}
	value, err := sc.Get(ctx, hexKey)
	if err == nil && value == nil {
		return nil, false
	}
	var resp map[string]any
	if err == nil {
		err = json.Unmarshal(value, &resp)
	}
	if err != nil || resp == nil {
		in.c.emit(ctx, Event{Kind: EventCacheError, Op: "get", Token: hexKey[:12], Err: err})
		return nil, false
	}
	return resp, true
}

// call introspects token at the provider.
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
	if oe != nil && oe.Kind == opclient.KindHTTP && (oe.StatusCode == 0 || oe.StatusCode == http.StatusOK || oe.StatusCode >= 500 || oe.StatusCode == http.StatusTooManyRequests || oe.StatusCode == http.StatusRequestTimeout) {
		c.emit(ctx, Event{Kind: EventProviderError, Op: "introspection", Status: http.StatusServiceUnavailable, Err: cerr})
		e := refuse(ErrUnavailable, "introspection_unavailable", cerr)
		e.RetryAfter = retryAfter
		return nil, e
	}
	c.reportConfig(ctx, "introspection_refused", cerr)
	return nil, refuse(ErrMisconfigured, "introspection_refused", cerr)
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
