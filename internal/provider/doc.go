// Package provider is the client side of an OpenID provider that both the
// relying party (package monocloud) and the resource server (package
// backend) need: discovery (with the end-session URL of its document), the
// provider's signing keys, the verification of the tokens it signs, and
// the HTTP client that fetches them.
//
// Discovery is lazy and retried with a backoff; keys are cached per kid,
// fetched once for concurrent callers, refreshed in the background before
// they expire and served stale while the provider is down. A token signed
// with an unknown key triggers a refetch, at once for tokens from a trusted
// source (the token endpoint) and rate-limited for tokens anyone can send
// (access tokens, logout tokens), so that forged tokens cannot starve a
// real key rotation.
//
// Every error is an *Error whose Kind tells a provider that could not be
// reached (worth a retry) from an answer that proves the configuration
// wrong and from a token that is invalid; each caller maps those kinds once
// to its own public errors.
package provider
