package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Source says where a token comes from, which decides how soon a token
// signed with a key the cached set lacks may make a KeySet refetch the
// provider's keys.
type Source int

const (
	// Trusted tokens come from the provider itself, in answer to the
	// client's own request over TLS, such as ID tokens of a token response
	// or signed userinfo: no third party can forge one, so an unknown key
	// refetches the key set at once (one fetch for concurrent callers),
	// and a fetch in flight when the caller read the set does not count,
	// as it may predate a key rotation. The same unknown kid refetches at
	// most once per TrustedRefetchFloor.
	Trusted Source = iota + 1
	// Untrusted tokens come from anyone, such as access tokens sent to an
	// API or logout tokens: an unknown key refetches the set only if the
	// last fetch started KeySet.RefetchInterval ago or more, so that forged
	// tokens cost at most one fetch per interval; they never delay a fetch
	// for a Trusted token. An unknown key within the interval is a
	// *RefetchLimitedError, not a plain ErrUnknownKey: it may be a key
	// rotated since the last fetch.
	Untrusted
)

// TrustedRefetchFloor is the shortest time between two fetches caused by
// Trusted tokens naming the same unknown key: a provider that signs with a
// key its key set does not list yet costs one fetch per second at most,
// not one per sign-in.
const TrustedRefetchFloor = time.Second

// Defaults of the KeySet fields.
const (
	DefaultKeyCacheDuration = 5 * time.Minute
	DefaultRefetchInterval  = 10 * time.Second
)

// refreshAt is the share of CacheDuration after which a verification
// starts a background refresh of the keys.
const refreshAt = 0.8

// KeySet is the provider's JSON Web Key Set, fetched when first needed and
// cached with the keys parsed, indexed by kid. Concurrent callers share one
// fetch; the set is refreshed in the background before CacheDuration ends,
// and kept (served stale) while refreshes fail. Set the fields before the
// first call of Verify or Keys.
//
// A kid the cached set lacks is refused as unknown (ErrUnknownKey) only
// when a fetch that started after the token was seen lacks it too. When
// the token's Source may not cause that fetch yet, a forged kid and a key
// the provider rotated to since the last fetch look the same, and Keys
// reports a *RefetchLimitedError with the time until a refetch is allowed,
// for the caller to answer "retry later". No caller waits that long (up
// to RefetchInterval), and no timer refetches when it ends: the retry, or
// any token with an unknown kid after it, does, and forged kids still
// cost at most one fetch per interval.
type KeySet struct {
	// URL is the jwks_uri. Required.
	URL string
	// Client sends the requests; set its Timeout. Required.
	Client *http.Client
	// Timeout bounds one fetch, which is not cancelled with the caller's
	// context because other callers may wait for it.
	Timeout time.Duration
	// CacheDuration is how long a fetched set is used before it is
	// refreshed; 0 means DefaultKeyCacheDuration.
	CacheDuration time.Duration
	// RefetchInterval is the shortest time between a fetch and one caused
	// by an Untrusted token with an unknown key; 0 means
	// DefaultRefetchInterval.
	RefetchInterval time.Duration
	// UntrustedOnly measures RefetchInterval from the last refetch an
	// Untrusted token caused, not from any fetch: for a verifier whose
	// every token is Untrusted (a resource server), so that a key rotated
	// right after a fetch is picked up at once. Forged tokens still cause
	// at most one fetch per RefetchInterval.
	UntrustedOnly bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnFetch, if set, is called after each fetch with its error (nil on
	// success) and whether it ran in the background.
	OnFetch func(err error, background bool)

	keys atomic.Pointer[keyIndex] // nil until the first successful fetch

	mu            sync.Mutex
	attempt       chan struct{} // closed when the fetch in flight ends; nil if none
	started       int           // fetches started; they end in order, one at a time
	fetches       int           // fetches ended, so that a caller can tell it missed one
	lastErr       error         // of the last fetch
	fetchedAt     time.Time     // of the keys
	lastStart     time.Time     // of the last fetch
	lastUntrusted time.Time     // of the last fetch an Untrusted token caused
	retryAt       time.Time     // no background refresh before
	failures      int           // consecutive failed fetches
	// lastKid and lastKidAt are the unknown kid of the last fetch a
	// Trusted token caused, and its start.
	lastKid   string
	lastKidAt time.Time
}

// view is what a caller saw of a KeySet when it read the keys: how many
// fetches had started and ended.
type view struct{ started, fetches int }

// keyIndex is a fetched key set, parsed.
type keyIndex struct {
	byKID map[string][]jose.JSONWebKey
	all   []jose.JSONWebKey
}

// Verify verifies jws, which must have exactly one signature, with the
// provider's keys, and returns its payload. The algorithm of jws has been
// checked against the caller's allow-list when it was parsed. The error
// is an *Error: Invalid (wrapping ErrUnknownKey or ErrBadSignature), or
// Unavailable when the keys could not be fetched.
func (ks *KeySet) Verify(ctx context.Context, jws *jose.JSONWebSignature, src Source) ([]byte, error) {
	if len(jws.Signatures) != 1 {
		return nil, &Error{Kind: Invalid, Op: "verify", Message: "a JWS with exactly one signature is required", Err: ErrBadSignature}
	}
	h := jws.Signatures[0].Header
	alg := jose.SignatureAlgorithm(h.Algorithm)
	cands, err := ks.Keys(ctx, h.KeyID, alg, src)
	if err != nil {
		return nil, err
	}
	for i := range cands {
		if payload, err := jws.Verify(&cands[i]); err == nil {
			return payload, nil
		}
	}
	return nil, &Error{Kind: Invalid, Op: "verify", Message: fmt.Sprintf("kid %q, alg %s", h.KeyID, alg), Err: ErrBadSignature}
}

// Keys returns the provider's keys that may verify a signature by alg
// with kid (any kid if empty), refetching the set once, as src allows,
// when it has none. The keys are read-only: they may be the set's own.
// The error is an *Error: Invalid wrapping ErrUnknownKey when a fetch
// started after the call lacks kid, Invalid wrapping a
// *RefetchLimitedError when src may not cause a fetch yet, or
// Unavailable when the keys could not be fetched.
func (ks *KeySet) Keys(ctx context.Context, kid string, alg jose.SignatureAlgorithm, src Source) ([]jose.JSONWebKey, error) {
	return ks.KeysAt(ctx, ks.now(), kid, alg, src)
}

// KeysAt is Keys for a caller that has read the clock: now is the time of
// the call, by the same clock as Now.
func (ks *KeySet) KeysAt(ctx context.Context, now time.Time, kid string, alg jose.SignatureAlgorithm, src Source) ([]jose.JSONWebKey, error) {
	idx, seen, err := ks.index(ctx, now)
	if err != nil {
		return nil, err
	}
	if cands := idx.candidates(kid, alg); len(cands) > 0 {
		return cands, nil
	}
	idx, wait, err := ks.refetch(ctx, seen, src, kid)
	if err != nil {
		return nil, err
	}
	if cands := idx.candidates(kid, alg); len(cands) > 0 {
		return cands, nil
	}
	unknown := ErrUnknownKey
	if wait > 0 {
		unknown = &RefetchLimitedError{RetryAfter: wait}
	}
	return nil, &Error{Kind: Invalid, Op: "verify", Message: fmt.Sprintf("kid %q, alg %s", kid, alg), Err: unknown}
}

// index returns the cached keys, fetching them first if there are none,
// and the caller's view of the set. It starts a background refresh when
// the keys are due for one at now.
func (ks *KeySet) index(ctx context.Context, now time.Time) (*keyIndex, view, error) {
	ks.mu.Lock()
	idx, seen := ks.keys.Load(), view{started: ks.started, fetches: ks.fetches}
	if idx != nil {
		due := ks.fetchedAt.Add(time.Duration(float64(ks.cacheDuration()) * refreshAt))
		if ks.attempt == nil && !now.Before(due) && !now.Before(ks.retryAt) {
			done := ks.startLocked(now)
			go ks.run(context.WithoutCancel(ctx), done, true)
		}
		ks.mu.Unlock()
		return idx, seen, nil
	}
	ks.mu.Unlock()
	idx, _, err := ks.refetch(ctx, seen, Trusted, "") // never limited: there are no keys
	return idx, seen, err
}

// refetch returns the keys of the first fetch started after the caller's
// view seen, making that fetch itself if src allows (see Source); a fetch
// in flight at the view is waited for first, as it may hold the key, but
// does not count: it may have read the set before a key rotation that the
// caller's token follows. When src may not cause a fetch yet, refetch
// returns the newest keys and how long until src may: such keys prove
// nothing about a kid they lack. When a fetch since the view failed, its
// error is returned: the caller cannot tell a forged key from a rotation
// it missed. The fetch is not cancelled with ctx, as other callers may
// wait for it.
func (ks *KeySet) refetch(ctx context.Context, seen view, src Source, kid string) (*keyIndex, time.Duration, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for ks.fetches <= seen.started {
		if done := ks.attempt; done != nil {
			ks.mu.Unlock()
			select {
			case <-done:
			case <-ctx.Done():
				ks.mu.Lock()
				return nil, 0, &Error{Kind: Unavailable, Op: "jwks", Message: "gave up waiting", Err: ctx.Err()}
			}
			ks.mu.Lock()
			continue
		}
		now := ks.now()
		if wait := ks.holdOff(now, src, kid); wait > 0 {
			if ks.fetches != seen.fetches && ks.lastErr != nil {
				return nil, 0, ks.lastErr
			}
			return ks.keys.Load(), wait, nil
		}
		if src == Trusted {
			ks.lastKid, ks.lastKidAt = kid, now
		} else if ks.keys.Load() != nil {
			ks.lastUntrusted = now // a refetch, not the first fetch
		}
		done := ks.startLocked(now)
		go ks.run(context.WithoutCancel(ctx), done, false)
	}
	if ks.lastErr != nil {
		return nil, 0, ks.lastErr
	}
	return ks.keys.Load(), 0, nil
}

// holdOff returns how long until src may cause a fetch for kid, 0 or less
// if it may now. ks.mu is held.
func (ks *KeySet) holdOff(now time.Time, src Source, kid string) time.Duration {
	switch {
	case src == Untrusted && ks.fetches > 0:
		return ks.refetchInterval() - now.Sub(ks.untrustedSince())
	case src == Trusted && ks.keys.Load() != nil && kid == ks.lastKid:
		return TrustedRefetchFloor - now.Sub(ks.lastKidAt)
	}
	return 0
}

// startLocked marks a fetch in flight; ks.mu is held.
func (ks *KeySet) startLocked(now time.Time) chan struct{} {
	done := make(chan struct{})
	ks.attempt = done
	ks.started++
	ks.lastStart = now
	return done
}

// run makes one fetch and records its outcome.
func (ks *KeySet) run(ctx context.Context, done chan struct{}, background bool) {
	ctx, cancel := context.WithTimeout(ctx, ks.Timeout)
	defer cancel()
	idx, err := ks.fetch(ctx)
	if ks.OnFetch != nil {
		ks.OnFetch(err, background) // before the waiters go on: its report comes first
	}
	ks.mu.Lock()
	ks.fetches++
	ks.lastErr = err
	if err == nil {
		ks.keys.Store(idx)
		ks.fetchedAt, ks.failures, ks.retryAt = ks.now(), 0, time.Time{}
	} else {
		ks.failures++
		ks.retryAt = ks.now().Add(min(MinBackoff<<min(ks.failures-1, 16), MaxBackoff))
	}
	ks.attempt = nil
	close(done)
	ks.mu.Unlock()
}

// fetch GETs and parses the key set. Keys that do not parse as public keys
// (of a type go-jose does not know, say) are skipped, as RFC 7517 section
// 5 asks.
func (ks *KeySet) fetch(ctx context.Context) (*keyIndex, error) {
	body, status, err := GetJSON(ctx, ks.Client, ks.URL)
	switch {
	case err != nil:
		return nil, &Error{Kind: Unavailable, Op: "jwks", StatusCode: status, Message: "fetching " + ks.URL, Err: err}
	case transient(status):
		return nil, &Error{Kind: Unavailable, Op: "jwks", StatusCode: status, Message: fmt.Sprintf("%s answered status %d", ks.URL, status)}
	case status != http.StatusOK:
		return nil, &Error{Kind: Misconfigured, Op: "jwks", StatusCode: status, Message: fmt.Sprintf("%s answered status %d, want 200", ks.URL, status)}
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, &Error{Kind: Unavailable, Op: "jwks", StatusCode: status, Message: "the key set is not JSON", Err: err}
	}
	idx := &keyIndex{byKID: make(map[string][]jose.JSONWebKey)}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err == nil && k.Valid() && k.IsPublic() {
			idx.all = append(idx.all, k)
			idx.byKID[k.KeyID] = append(idx.byKID[k.KeyID], k)
		}
	}
	return idx, nil
}

// candidates returns the keys that may verify a signature by alg with kid
// (any kid if empty): for signing, of alg's key type and curve, and of alg
// if the key names one. The result is read-only: when every key fits, as
// is usual, it is the index's own slice rather than a copy per token.
func (idx *keyIndex) candidates(kid string, alg jose.SignatureAlgorithm) []jose.JSONWebKey {
	keys := idx.all
	if kid != "" {
		keys = idx.byKID[kid]
	}
	fits := func(k *jose.JSONWebKey) bool {
		return (k.Use == "" || k.Use == "sig") && (k.Algorithm == "" || k.Algorithm == string(alg)) && suits(k.Key, alg)
	}
	n := 0
	for i := range keys {
		if fits(&keys[i]) {
			n++
		}
	}
	if n == len(keys) {
		return keys[:n:n]
	}
	out := make([]jose.JSONWebKey, 0, n)
	for i := range keys {
		if fits(&keys[i]) {
			out = append(out, keys[i])
		}
	}
	return out
}

// suits reports whether key is of the type (and curve) alg signs with.
func suits(key any, alg jose.SignatureAlgorithm) bool {
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		_, ok := key.(*rsa.PublicKey)
		return ok
	case jose.ES256, jose.ES384, jose.ES512:
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve == curveOf(alg)
	case jose.EdDSA:
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}

// curveOf returns the curve of an ECDSA algorithm.
func curveOf(alg jose.SignatureAlgorithm) elliptic.Curve {
	switch alg {
	case jose.ES256:
		return elliptic.P256()
	case jose.ES384:
		return elliptic.P384()
	}
	return elliptic.P521()
}

func (ks *KeySet) cacheDuration() time.Duration {
	if ks.CacheDuration > 0 {
		return ks.CacheDuration
	}
	return DefaultKeyCacheDuration
}

// untrustedSince is when the time between fetches an Untrusted token may
// cause starts: the last fetch, or with UntrustedOnly the last refetch such
// a token caused. ks.mu is held.
func (ks *KeySet) untrustedSince() time.Time {
	if ks.UntrustedOnly {
		return ks.lastUntrusted
	}
	return ks.lastStart
}

func (ks *KeySet) refetchInterval() time.Duration {
	if ks.RefetchInterval > 0 {
		return ks.RefetchInterval
	}
	return DefaultRefetchInterval
}

func (ks *KeySet) now() time.Time {
	if ks.Now != nil {
		return ks.Now()
	}
	return time.Now()
}

// Load fetches the key set unless it is cached, so that a caller can
// report a provider that cannot serve keys before a token needs them.
func (ks *KeySet) Load(ctx context.Context) error {
	_, _, err := ks.index(ctx, ks.now())
	return err
}
