// Package backend protects APIs that receive OAuth 2.0 access tokens, as
// MonoCloud's backend SDK (@monocloud/backend-node) does for Express and
// Fastify: JWT access tokens (RFC 9068) are validated locally with the
// provider's keys, opaque tokens by introspection (RFC 7662), and each
// route asks for its scopes and groups.
//
//	api, err := backend.New(backend.Options{}) // MONOCLOUD_BACKEND_* variables
//	...
//	mux.Handle("GET /orders", api.Protect(&backend.ProtectOptions{Scopes: []string{"read:orders"}})(orders))
//
// In the handler, ClaimsFromContext returns the token's claims.
//
// # What is checked
//
// The token comes from the Authorization header (Bearer or DPoP, one
// token68, at most Options.MaxTokenLength characters), or from
// Options.TokenExtractor; the query string only with
// Options.AllowQueryToken. A JWT (three segments) must be signed with an
// allowed asymmetric algorithm (never none or HMAC) by a key of the
// provider, have no crit header, typ at+jwt or JWT (only at+jwt with
// StrictTokenType), iss equal to the discovered issuer, aud containing
// Options.Audience, an exp (unless RequireExp is false) not past, and nbf
// and iat not in the future, all with Options.ClockTolerance. Anything
// else is introspected, when ClientID is set: active must be true and the
// same claims rules apply (iss only when present).
//
// Scopes come from scope (a space-separated string) or scp (an array);
// groups from Options.GroupsClaim, as strings or {id, name} objects.
//
// Sender-constrained tokens: a token with cnf.jkt must come with the DPoP
// scheme and a valid DPoP proof (RFC 9449: typ, algorithm, signature by
// its embedded key, htm, htu, iat, ath, jkt, a jti never seen before, and
// a nonce if Options.DPoPNonces is set); a token with cnf.x5t#S256 needs
// the client certificate it is bound to (RFC 8705), from the TLS
// connection or, with ForwardedCertificate, from a trusted proxy.
//
// The htu of a proof is compared, without query and fragment, with the URL
// the client called: behind the proxies of Options.TrustedProxies, the
// scheme and host they report (Forwarded, X-Forwarded-Proto,
// X-Forwarded-Host) and the path prefix they stripped
// (X-Forwarded-Prefix), headers ignored from any other peer. With
// Options.DPoPNonces, Protect renews the client's nonce on success answers
// (see NonceSource): a client that follows DPoP-Nonce and calls at least
// once a nonce lifetime is refused for its nonce only on its first request.
//
// Opaque tokens are introspected with Options.ClientAuthMethod; the mutual
// TLS methods present Options.ClientAuthCertificate at the provider's mTLS
// alias of the introspection endpoint (RFC 8705).
//
// # Caches and the provider
//
// New does not contact the provider; the first request that needs it
// fetches the discovery document and keys, once for all concurrent
// requests (Client.Discover does it at start-up). Keys are cached per
// kid, refreshed in the background before Options.JWKSCacheDuration
// ends, and kept while the provider is down. A token signed with an
// unknown key refetches the keys, at most once every 10 seconds for all
// such tokens, so that forged tokens cannot keep the provider busy; within
// those 10 seconds it is answered 503 with Retry-After, not 401, as it may
// carry a key the provider has just rotated to.
//
// A validated JWT's claims are cached by the SHA-256 of the token until
// its exp; introspection results likewise, at most
// Options.IntrospectionCacheDuration, inactive verdicts for 30 seconds,
// and concurrent requests with one token share one introspection.
// Options.IntrospectionCache shares results between instances. Scopes,
// groups and sender constraints are checked on every request, cached
// tokens included, against what the token granted when it was validated:
// the claims handlers receive are shared by the requests of a token (see
// Claims), and writing to them changes no authorization.
//
// # Answers
//
// Protect refuses a request as RFC 6750 section 3 asks:
//
//	no token                          401  WWW-Authenticate: Bearer (and DPoP algs="...")
//	invalid, expired, inactive token  401  Bearer error="invalid_token" (DPoP: DPoP error="invalid_token", algs="...")
//	DPoP-bound token sent as Bearer   401  Bearer error="invalid_token" and a DPoP challenge
//	malformed request                 400  error="invalid_request"
//	invalid DPoP proof                401  DPoP error="invalid_dpop_proof"
//	proof without the required nonce  401  DPoP error="use_dpop_nonce" and DPoP-Nonce
//	missing scope or group            403  error="insufficient_scope", scope="<scopes that would grant access>"
//	provider unreachable, no cache    503  Retry-After
//	unknown key, refetch rate-limited 503  Retry-After (the key may just have been rotated in)
//	configuration error               500  (reported once as a config_error event)
//
// Bodies are JSON ({"error": ..., "message": ...}) and never carry
// internal error text; Options.ErrorWriter replaces them. Every refusal
// is an *Error matching one of the Err* conditions; StatusOf maps it.
package backend
