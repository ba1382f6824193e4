// Package monocloud adds MonoCloud (OpenID Connect) authentication to Go
// net/http servers: sign-in with the authorization code flow and PKCE,
// sign-out, an encrypted cookie session, route protection by sign-in and by
// group, and GetTokens, which hands a handler the user's tokens and
// refreshes them when they expire. It works with any OpenID provider that
// supports the authorization code flow; MonoCloud is the one it is made for.
//
// # Setting up
//
// New builds a Client from Options; a zero field is read from its
// MONOCLOUD_AUTH_* environment variable. A server wraps its handler with
// the middleware, which serves the auth routes (sign-in, callback, userinfo,
// sign-out, back-channel logout) and protects the other routes:
//
//	client, err := monocloud.New(monocloud.Options{}) // MONOCLOUD_AUTH_* from the environment
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(":8080", client.AuthMiddleware(nil)(mux))
//
// New fails on a configuration error, naming the field and its variable. A
// provider that cannot be reached does not fail New: the routes that need it
// answer 503 until it answers.
//
// # Pages and APIs
//
// A protected request without a session is answered as the client can use
// it: a page is redirected to sign-in and back, an API request gets 401
// {"message":"unauthorized"} (403 {"message":"forbidden"} without a
// required group), since a script cannot follow a redirect to the
// provider. A request is an API request when its path is /api or below
// (relative to AppURL), its route is marked as one (ProtectedRoute.API,
// ProtectAPI), or its client asked for JSON: an Accept header that prefers
// application/json (or a +json type) over text/html by q-value,
// Sec-Fetch-Mode: cors (a browser's fetch or XMLHttpRequest) or
// X-Requested-With: XMLHttpRequest. A browser navigation asks for HTML and
// gets the page answer.
//
// AuthMiddleware protects routes by path (MiddlewareOptions.ProtectedRoutes,
// built with Protect and ProtectGroups); ProtectPage and ProtectAPI are
// middleware, func(http.Handler) http.Handler, for a router's route groups
// (chi's Use and With, echo.WrapMiddleware) or a single handler.
//
// # A request's life
//
// Under AuthMiddleware (or Handler) the session cookie is decoded at most
// once per request, on first use, and kept in the request's context: every
// helper of that request (Session, GetTokens, IsAuthenticated, …) sees it,
// with the changes made earlier in the same request. Changes (a sliding
// expiry, refreshed tokens, UpdateSession) reach the browser as Set-Cookie
// headers added just before the response header is written. Outside the
// middleware, the (w, r) forms of the helpers write those headers to w.
//
// GetTokens returns an access token and refreshes it when it has expired or
// when asked to. A refresh happens once per need: concurrent requests share
// one grant and its outcome; a grant is not cancelled by the request that
// started it (a closed tab), and its result is kept, so that a request still
// carrying the cookie from before the refresh gets the new tokens instead of
// presenting a used refresh token, which providers with refresh-token
// rotation answer by revoking the whole grant.
//
// # Sessions: cookie or store
//
// By default the whole session lives in the session cookie, encrypted and
// authenticated with keys derived from CookieSecret and bound to the
// provider and client ID, and split into several cookies when it is large.
// With Options.Session.Store (a SessionStore, such as the Redis store of
// package github.com/monocloud/auth-go/redisstore) the cookie holds only a
// random key and the session is kept server-side.
//
// # Several instances
//
// Cookie sessions work on any number of instances that share CookieSecret.
// Options.Coordinator (the Redis store of package redisstore is one) makes
// what instances must agree on hold across them: a refresh happens once,
// a request that carries the cookie from before it gets its result on any
// instance, and a sign-out or back-channel logout reaches every instance. Without one, each process remembers the sign-outs and
// logouts it receives itself. A store shared by the instances must implement
// SessionLocker; it is then the Coordinator too when it implements that.
//
// # Auth handlers
//
// Handler and the middleware serve the auth routes with the client's
// options. SignInHandler, CallbackHandler, UserInfoHandler and
// SignOutHandler build one route with options of its own, to mount at
// another path: a sign-up link, for example, is
// SignInHandler(&SignInOptions{Register: true}).
//
// # Logs and metrics
//
// The client reports what it does (sign-ins, refreshes with their outcome
// and duration, sign-outs, back-channel logouts, store and provider
// failures) as Events, logged through Options.Logger and handed to
// Options.OnEvent. Routine events are logged at Debug, so Info is quiet; no
// event holds a token or a cookie value. Package otelmonocloud, a module of
// its own, turns them into OpenTelemetry metrics.
//
// # Testing
//
// Package monocloudtest runs an in-process OpenID provider for tests, and
// EncodeSession mints the session cookies of a given user and tokens, so
// that tests of protected handlers need no sign-in flow.
//
// # Errors
//
// Errors are typed and wrap their causes: match them with errors.As and
// errors.Is. ErrNoSession means there is no valid session; a *ValidationError
// reports a configuration error or invalid options; an *OPError is an OAuth
// error answered by the provider (its Code, such as "invalid_grant"); an
// *HTTPError is a provider that could not be reached or answered garbage; a
// *TokenError an ID or logout token that failed validation; a *StoreError a
// SessionStore that failed, which is not a sign-out; ErrProviderUnavailable
// a provider whose discovery document or keys cannot be fetched. The auth
// routes answer them with a 4xx or 5xx status, or hand them to one error
// hook: the OnError of the route's handler options (SignInOptions,
// CallbackOptions, UserInfoOptions, SignOutOptions) when set, else
// Options.OnError, which covers the routes of Handler and AuthMiddleware.
//
// # What is checked
//
// An ID token (OpenID Connect Core 1.0, section 3.1.3.7) must be a compact
// JWS signed with IDTokenSigningAlg by a key of the provider's key set
// (refetched at once for a key it does not know), with typ JWT when typ is
// present, iss equal to the discovered issuer, aud containing the client
// ID (with azp when there are several audiences, and azp equal to the
// client ID when present), exp not past and iat present and not ahead
// (both with ClockTolerance), sub present (and unchanged on refresh), the
// nonce of the sign-in (absent or equal on refresh), and auth_time within
// max_age when max_age was requested. Not checked: encrypted ID tokens
// (refused: they do not parse), audiences besides the client, how long ago
// iat was, acr, at_hash and c_hash (optional in the code flow, where both
// tokens come in one TLS answer of the token endpoint).
//
// A logout token must be signed likewise, with typ logout+jwt or JWT, the
// issuer, the client ID in aud, iat, the back-channel logout event, no
// nonce, a jti not seen before (across instances with a Coordinator), and
// sid or sub; a token without exp is accepted within 5 minutes of its iat.
// Signed userinfo (application/jwt) is verified with the provider's keys,
// and its iss and aud when present. The callback's state must be the one
// of a sign-in transaction of this browser, used once.
package monocloud
