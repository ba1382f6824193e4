package monocloud

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/internal/expiring"
	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/internal/refresh"
)

// Client is a configured MonoCloud relying party. It is safe for concurrent
// use; create one per application with New and share it.
type Client struct {
	cfg          *config
	disc         *provider.Discovery          // the provider's discovery: reach it through c.provider
	op           atomic.Pointer[discoveredOP] // the provider once discovered
	sessionCodec *cookie.Codec
	stateCodec   *cookie.Codec
	sessions     *sessionCache  // decoded session cookies
	backend      sessionBackend // where sessions live, chosen by New
	refreshes    *refresh.Group[*refreshedSession]
	usedStates   *expiring.Map[string, struct{}] // states of the callbacks taken
	logoutJTIs   *expiring.Map[string, struct{}] // IDs of the logout tokens accepted
	ended        *endedSessions
	coord        coordination // what the Coordinator does, chosen by New
	stopWatch    func()       // stops watching the Coordinator's ended sessions
	now          func() time.Time

	noRequestContextLogged atomic.Bool // see logNoRequestContext
}

// New returns a Client configured by opts, with the zero fields read from
// the MONOCLOUD_AUTH_* environment variables. It validates the whole
// configuration, derives the cookie keys and fetches the provider's
// discovery document (bounded by ResponseTimeout). Configuration errors are
// *ValidationError values naming the field and its variable, joined with
// errors.Join; so is a discovery answer that proves TenantDomain wrong (a
// 404, another issuer, required endpoints missing). A provider that cannot
// be reached does not fail New: discovery is retried, with backoff, by the
// requests that need the provider, which fail with ErrProviderUnavailable
// (503 on the auth routes) until it succeeds; with RequireProvider, it
// fails New (see also Client.Ready). With a Coordinator, New
// starts watching its ended sessions in the background (Close stops it), and
// requests carrying a session wait until they are loaded (see
// Coordinator).
func New(opts Options) (*Client, error) {
	cfg, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	// The configured issuer is a parsed URL, so it holds no NUL byte: the
	// binding is unambiguous.
	binding := cfg.opts.TenantDomain + "\x00" + cfg.opts.ClientID
	sessionCodec, err := cookie.NewCodec(cfg.cookieSecrets(), binding, cfg.opts.Session.MaximumDuration)
	if err != nil {
		return nil, &ValidationError{Field: "CookieSecret", EnvVar: "MONOCLOUD_AUTH_COOKIE_SECRET", Message: err.Error(), Err: err}
	}
	stateCodec, err := cookie.NewCodec(cfg.cookieSecrets(), binding, cfg.opts.State.Duration)
	if err != nil {
		return nil, &ValidationError{Field: "CookieSecret", EnvVar: "MONOCLOUD_AUTH_COOKIE_SECRET", Message: err.Error(), Err: err}
	}
	c := &Client{
		cfg:          cfg,
		sessionCodec: sessionCodec,
		stateCodec:   stateCodec,
		sessions:     newSessionCache(),
		usedStates:   newUsedStates(cfg.opts.State.Duration),
		logoutJTIs:   expiring.New[string, struct{}](maxLogoutJTIs, cfg.opts.Session.MaximumDuration),
		ended:        newEndedSessions(cfg.opts.Session.MaximumDuration, maxEnded, slices.Contains(cfg.opts.FilteredIDTokenClaims, "sid")),
		now:          time.Now,
	}
	c.ended.skew = int64(*cfg.opts.ClockTolerance / time.Second)
	c.ended.loadTimeout = cfg.opts.ResponseTimeout
	c.coord = newCoordination(cfg)
	c.backend = newSessionBackend(cfg, sessionCodec, func() time.Time { return c.now() }, c.coord)
	c.refreshes = refresh.New[*refreshedSession](cfg.opts.ResponseTimeout, func() time.Time { return c.now() })
	c.disc = c.newDiscovery()
	// A provider that cannot be reached is logged and retried on demand,
	// unless RequireProvider; an answer that proves the configuration wrong
	// fails New.
	if _, err := c.provider(context.Background()); err != nil {
		err = c.reportDiscovery(context.Background(), err)
		var ve *ValidationError
		if errors.As(err, &ve) || *cfg.opts.RequireProvider {
			return nil, err
		}
	}
	c.stopWatch = c.coord.watch(c.ended, c.recordEnded, c.emit)
	return c, nil
}

var defaultClient struct {
	mu     sync.Mutex
	client *Client
}

// Default returns the package-level client used by the package-level
// helpers outside a request served by a client. It is built from the
// environment on first use; SetDefault replaces it.
func Default() (*Client, error) {
	defaultClient.mu.Lock()
	defer defaultClient.mu.Unlock()
	if defaultClient.client == nil {
		c, err := New(Options{})
		if err != nil {
			return nil, err
		}
		defaultClient.client = c
	}
	return defaultClient.client, nil
}

// SetDefault makes c the client returned by Default.
func SetDefault(c *Client) {
	defaultClient.mu.Lock()
	defer defaultClient.mu.Unlock()
	defaultClient.client = c
}

// clientFor returns the client serving ctx's request, else Default().
func clientFor(ctx context.Context) (*Client, error) {
	if c, ok := ctx.Value(servingKey{}).(*Client); ok {
		return c, nil
	}
	return Default()
}
