package backend

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monocloud/auth-go/internal/opclient"
	"github.com/monocloud/auth-go/internal/provider"
)

// retryAfter is the Retry-After of a 503: the first discovery backoff, a
// few times over.
const retryAfter = 5 * time.Second

// Client validates access tokens for one API (audience) of one tenant.
// Create it with New; it is safe for concurrent use. It contacts the
// provider only when a token needs it: discovery, keys and introspection
// are fetched then, once for concurrent requests, and cached.
type Client struct {
	cfg      *config
	algNames string // the allow-list, space-separated, for DPoP challenges
	now      func() time.Time

	disc *provider.Discovery

	mu         sync.Mutex // guards introspect, and the replacing of keys
	keys       atomic.Pointer[provider.KeySet]
	introspect *opclient.Client

	jwt           jwtParser
	claims        *claimsCache
	introspection *introspector
	replay        ReplayStore

	reported sync.Map // of config problems reported once, by reason
}

// New returns a Client configured by opts, its zero fields read from the
// MONOCLOUD_BACKEND_* environment, then defaulted. An invalid
// configuration is reported with every problem at once: the error joins
// one *ValidationError per problem, each naming the field and its
// variable. New does not contact the provider; see Client.Discover.
func New(opts Options) (*Client, error) {
	cfg, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, now: time.Now, jwt: jwtParser{algs: cfg.algs}}
	names := make([]string, len(cfg.algs))
	for i, a := range cfg.algs {
		names[i] = string(a)
	}
	c.algNames = strings.Join(names, " ")
	c.disc = &provider.Discovery{
		Issuer:        cfg.issuer,
		Client:        cfg.httpClient,
		Timeout:       cfg.responseTimeout,
		CacheDuration: cfg.metadataTTL,
		Required:      []string{"jwks_uri"},
		Now:           func() time.Time { return c.now() },
		OnError: func(ctx context.Context, err error) {
			c.emit(ctx, Event{Kind: EventProviderError, Op: "discovery", Err: err})
		},
	}
	c.claims = newClaimsCache(cfg.cacheSize, cfg.jwksTTL)
	c.introspection = newIntrospector(c)
	c.replay = cfg.replay
	if c.replay == nil {
		c.replay = newMemoryReplayStore(cfg.replaySize, cfg.dpopLifetime+2*cfg.clockTolerance, func() time.Time { return c.now() })
	}
	return c, nil
}

// Discover fetches the provider's discovery document and keys now rather
// than at the first request, so that a wrong configuration is reported at
// start-up. Its error matches ErrMisconfigured or ErrUnavailable.
func (c *Client) Discover(ctx context.Context) error {
	ks, _, perr := c.keySet(ctx, c.now())
	if perr != nil {
		return perr
	}
	if err := ks.Load(ctx); err != nil {
		return c.providerFailure(ctx, err)
	}
	return nil
}

// keySet returns the provider's key set and issuer at now, discovering
// them first if needed. The key set is read without a lock; it is
// replaced, under c.mu, only when the discovered jwks_uri changes.
func (c *Client) keySet(ctx context.Context, now time.Time) (*provider.KeySet, string, *Error) {
	doc, err := c.disc.GetAt(ctx, now)
	if err != nil {
		return nil, "", c.providerFailure(ctx, err)
	}
	if ks := c.keys.Load(); ks != nil && ks.URL == doc.JWKSURI {
		return ks, doc.Issuer, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ks := c.keys.Load(); ks != nil && ks.URL == doc.JWKSURI {
		return ks, doc.Issuer, nil
	}
	ks := &provider.KeySet{
		URL:           doc.JWKSURI,
		Client:        c.cfg.httpClient,
		Timeout:       c.cfg.responseTimeout,
		CacheDuration: c.cfg.jwksTTL,
		UntrustedOnly: true, // every access token is
		Now:           func() time.Time { return c.now() },
		OnFetch: func(err error, background bool) {
			e := Event{Kind: EventKeysFetched, Outcome: "fetch", Err: err}
			if background {
				e.Outcome = "refresh"
			}
			c.emit(context.Background(), e)
		},
	}
	c.keys.Store(ks)
	return ks, doc.Issuer, nil
}

// providerFailure maps an error of package provider to the package's
// errors, once for every caller.
//
// A kid that the keys lack while they may not be refetched yet is 503, not
// 401: it may be a key the provider rotated to since the last fetch, and a
// client told invalid_token would throw a good token away. Retry-After is
// rounded up to when the keys may be refetched, which the retry then does.
func (c *Client) providerFailure(ctx context.Context, err error) *Error {
	if limited, ok := errors.AsType[*provider.RefetchLimitedError](err); ok {
		e := refuse(ErrUnavailable, "unknown_key_refetch_limited", err)
		e.RetryAfter = (limited.RetryAfter + time.Second - 1).Truncate(time.Second)
		return e
	}
	switch provider.KindOf(err) {
	case provider.Invalid:
		return refuse(ErrInvalidToken, "bad_signature", err)
	case provider.Misconfigured:
		c.reportConfig(ctx, "provider_answer", err)
		return refuse(ErrMisconfigured, "provider_answer", err)
	}
	e := refuse(ErrUnavailable, "provider_unavailable", err)
	e.RetryAfter = retryAfter
	return e
}

// reportConfig emits a config_error event the first time reason occurs.
func (c *Client) reportConfig(ctx context.Context, reason string, err error) {
	if _, seen := c.reported.LoadOrStore(reason, true); !seen {
		c.emit(ctx, Event{Kind: EventConfigError, Reason: reason, Err: err})
	}
}
