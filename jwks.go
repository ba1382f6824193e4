package monocloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwksRefetchInterval is the shortest time between a fetch of the
// provider's JWKS and one caused by a token from anyone (fromAnyone) whose
// key is not in the cached set; within it, such tokens fail fast.
const jwksRefetchInterval = 10 * time.Second

// trustedRefetchFloor is the shortest time between two fetches caused by
// tokens from the provider (fromProvider) naming the same unknown key: a
// provider that signs with a key its JWKS does not list yet costs one
// fetch per second at most, not one per sign-in.
const trustedRefetchFloor = time.Second

// maxDocumentBytes bounds the JWKS and discovery documents read from the provider.
const maxDocumentBytes = 1 << 20

// errKeyRefetchLimited reports a token signed with a key that is not in the
// cached JWKS, while the JWKS was fetched too recently to fetch it again.
var errKeyRefetchLimited = errors.New("no cached key verifies the token, and the JWKS was fetched too recently to fetch it again")

// errBadSignature reports a token that no key of a freshly fetched JWKS verifies.
var errBadSignature = errors.New("no key of the provider's JWKS verifies the token")

// A tokenSource says who handed a token over, which decides how soon a key
// the cached JWKS lacks may cause a refetch.
type tokenSource int

const (
	// fromProvider is a token the provider sent over TLS in answer to the
	// client's own request: an ID token of a token response, a signed
	// userinfo response. No third party can forge one, so an unknown key
	// refetches the JWKS at once (single-flight, trustedRefetchFloor).
	fromProvider tokenSource = iota
	// fromAnyone is a token posted by an unauthenticated caller: a logout
	// token. An unknown key refetches the JWKS only if the last fetch
	// started jwksRefetchInterval ago, so forged tokens cost at most one
	// fetch per interval, and they never delay a fetch for fromProvider.
	fromAnyone
)

// keySet is the provider's JWKS, cached, serving ID tokens (through
// oidc.KeySet, see providerKeys), signed userinfo and logout tokens.
//
// It replaces go-oidc's RemoteKeySet, which refetches the JWKS whenever no
// cached key verifies a token: one fetch per forged token, which any caller
// of the back-channel logout route could trigger. Here each caller says
// where its token comes from (tokenSource): tokens from anyone refetch at
// most once per jwksRefetchInterval, tokens from the provider at once, so a
// key rotation is picked up by the first sign-in that needs the new key
// whatever the back-channel route receives. Concurrent callers share the
// fetch in flight.
type keySet struct {
	url     string
	alg     jose.SignatureAlgorithm // the only algorithm accepted
	client  *http.Client
	timeout time.Duration
	now     func() time.Time

	fetchMu sync.Mutex // held by the one fetch in flight

	mu      sync.Mutex // guards the fields below
	keys    []jose.JSONWebKey
	started int       // fetches started
	fetches int       // fetches done, so that a waiter can tell it missed one
	last    time.Time // start of the last fetch
	lastErr error     // error of the last fetch
	// lastKid and lastKidAt are the unknown key ID of the last fetch for
	// a token fromProvider, and its start.
	lastKid   string
	lastKidAt time.Time
}

// verifyJWT parses raw as a compact JWS signed with ks.alg and verifies it
// as verify does.
func (ks *keySet) verifyJWT(ctx context.Context, raw string, src tokenSource) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{ks.alg})
	if err != nil {
		return nil, fmt.Errorf("malformed JWS: %w", err)
	}
	return ks.verify(ctx, jws, src)
}

// verify returns the payload of jws, which must have a single signature by
// a key of the JWKS, refetching the JWKS as src allows when no cached key
// verifies it. The error matches ErrProviderUnavailable when the JWKS could
// not be fetched.
func (ks *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature, src tokenSource) ([]byte, error) {
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a JWS with exactly one signature is required")
	}
	kid := jws.Signatures[0].Header.KeyID
	ks.mu.Lock()
	keys, seen, started := ks.keys, ks.fetches, ks.started
	ks.mu.Unlock()
	if payload, ok := verifyWith(jws, kid, keys); ok {
		return payload, nil
	}
	keys, err := ks.refetch(ctx, src, kid, seen, started)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, kid, keys); ok {
		return payload, nil
	}
	return nil, errBadSignature
}

// verifyWith verifies jws with the keys of ID kid, or with every key when
// the token names none.
func verifyWith(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) ([]byte, bool) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refetch returns the keys of a fetch newer than the caller's view of the
// JWKS, which it read when seen fetches were done and started ones were
// started, fetching them itself if src allows. A token fromAnyone takes
// any fetch done since. A token fromProvider takes one started since; one
// started earlier (in flight at the caller's read) may predate a key
// rotation, so it fetches again unless its kid caused a fetch within
// trustedRefetchFloor. A token fromAnyone fetches only if the last fetch
// started jwksRefetchInterval ago. The fetch is not cancelled with ctx, as
// other callers may wait for it; it is bounded by the client's timeout.
func (ks *keySet) refetch(ctx context.Context, src tokenSource, kid string, seen, started int) ([]jose.JSONWebKey, error) {
	ks.fetchMu.Lock()
	defer ks.fetchMu.Unlock()
	ks.mu.Lock()
	keys, fetches, last, lastErr := ks.keys, ks.fetches, ks.last, ks.lastErr
	lastKid, lastKidAt := ks.lastKid, ks.lastKidAt
	ks.mu.Unlock()
	now := ks.now()
	limited := src == fromAnyone && fetches > 0 && now.Sub(last) < jwksRefetchInterval ||
		src == fromProvider && kid == lastKid && now.Sub(lastKidAt) < trustedRefetchFloor
	switch {
	case fetches > started, fetches != seen && (src == fromAnyone || limited):
		return keys, lastErr // a fetch since the caller's view, as fresh as allowed
	case limited:
		return nil, errKeyRefetchLimited
	}
	ks.mu.Lock()
	ks.started++
	if src == fromProvider {
		ks.lastKid, ks.lastKidAt = kid, now
	}
	ks.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ks.timeout)
	defer cancel()
	fetched, err := ks.fetch(ctx)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.fetches++
	ks.last, ks.lastErr = now, err
	if err != nil {
		return nil, err
	}
	ks.keys = fetched
	return fetched, nil
}

// fetch GETs the JWKS. Keys that do not parse as public keys (of a type
// go-jose does not know, say) are skipped, as RFC 7517 section 5 asks.
func (ks *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	body, status, err := getJSON(ctx, ks.client, ks.url)
	switch {
	case err != nil:
		return nil, providerUnavailable(&HTTPError{Message: "Error while fetching JWKS: " + err.Error(), StatusCode: status, Err: err})
	case status != http.StatusOK:
		return nil, providerUnavailable(&HTTPError{Message: fmt.Sprintf("Error while fetching JWKS. Unexpected status code: %d", status), StatusCode: status})
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, providerUnavailable(&HTTPError{Message: "Failed to parse JWKS as JSON: " + err.Error(), StatusCode: status, Err: err})
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err == nil && k.Valid() && k.IsPublic() {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// getJSON GETs url and returns the answer's status and body (at most
// maxDocumentBytes of it). The error reports a request that got no answer, or
// whose body could not be read.
func getJSON(ctx context.Context, client *http.Client, url string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading the answer of %s: %w", url, err)
	}
	return body, resp.StatusCode, nil
}
