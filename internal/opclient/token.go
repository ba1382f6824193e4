// Package opclient is a small client for an OpenID Provider's token
// endpoint (RFC 6749 section 3.2), pushed authorization request endpoint
// (RFC 9126), revocation endpoint (RFC 7009) and userinfo endpoint (OpenID
// Connect Core section 5.3).
//
// It exists because golang.org/x/oauth2 cannot send repeated resource
// parameters (RFC 8707), cannot force a refresh and does not return a
// rotated refresh token. It checks the shape of responses only: ID tokens
// are returned as received and must be verified by the caller.
package opclient

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuthMethod is how a Client authenticates to the server
// (RFC 6749 section 2.3.1).
type AuthMethod int

const (
	// ClientSecretBasic sends the client ID and secret in an HTTP Basic
	// Authorization header, each form-urlencoded before they are joined,
	// as RFC 6749 section 2.3.1 requires. The MonoCloud JS SDK did not
	// encode them, so the two differ for credentials containing characters
	// such as ':', '%' or '+'.
	ClientSecretBasic AuthMethod = iota
	// ClientSecretPost sends client_id, and client_secret unless it is
	// empty, in the request body.
	ClientSecretPost
	// ClientSecretJWT sends client_id and a client assertion signed with
	// HS256, keyed with the client secret (OpenID Connect Core section 9).
	ClientSecretJWT
	// PrivateKeyJWT sends client_id and a client assertion signed with
	// Client.Key (OpenID Connect Core section 9, RFC 7523).
	PrivateKeyJWT
	// TLSClientAuth and SelfSignedTLSClientAuth send client_id only: the
	// client certificate that HTTPClient presents authenticates the client
	// (RFC 8705 section 2), issued by a CA the server trusts or registered
	// as it is. The caller sends the requests to the mTLS endpoint aliases, where
	// published (RFC 8705 section 5).
	TLSClientAuth
	SelfSignedTLSClientAuth
)

// MutualTLS reports whether m authenticates with a TLS client certificate.
func (m AuthMethod) MutualTLS() bool {
	return m == TLSClientAuth || m == SelfSignedTLSClientAuth
}

// String returns m's name, as token_endpoint_auth_method spells it.
func (m AuthMethod) String() string {
	switch m {
	case ClientSecretBasic:
		return "client_secret_basic"
	case ClientSecretPost:
		return "client_secret_post"
	case ClientSecretJWT:
		return "client_secret_jwt"
	case PrivateKeyJWT:
		return "private_key_jwt"
	case TLSClientAuth:
		return "tls_client_auth"
	case SelfSignedTLSClientAuth:
		return "self_signed_tls_client_auth"
	}
	return fmt.Sprintf("AuthMethod(%d)", int(m))
}

// ParseAuthMethod returns the method that name spells, as
// token_endpoint_auth_method does; its error lists the names.
func ParseAuthMethod(name string) (AuthMethod, error) {
	for m := ClientSecretBasic; m <= SelfSignedTLSClientAuth; m++ {
		if m.String() == name {
			return m, nil
		}
	}
	return ClientSecretBasic, fmt.Errorf("must be client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth or self_signed_tls_client_auth, got %q", name)
}

// minHMACSecretLength is the shortest client secret that can key HS256
// (RFC 7518 section 3.2).
const minHMACSecretLength = 32

// ParseSecret checks that secret suits m and returns, for PrivateKeyJWT,
// the key it holds as a private JWK (see ParseAssertionJWK): a
// ClientSecretJWT secret must be long enough to key HS256, the other
// methods take any secret. An empty secret passes: whether one is
// required is the caller's to say.
func (m AuthMethod) ParseSecret(secret string) (*AssertionKey, error) {
	if secret == "" {
		return nil, nil
	}
	switch m {
	case ClientSecretJWT:
		if len(secret) < minHMACSecretLength {
			return nil, fmt.Errorf("must be at least %d bytes long to sign client_secret_jwt assertions with HS256", minHMACSecretLength)
		}
	case PrivateKeyJWT:
		return ParseAssertionJWK(secret)
	}
	return nil, nil
}

// Client makes requests to a server's token and PAR endpoints for one
// client. It is safe for concurrent use as long as its fields are not
// modified.
type Client struct {
	// HTTPClient sends the requests. It is required. Set its Timeout: a
	// request is otherwise bounded only by its context.
	HTTPClient   *http.Client
	ClientID     string
	ClientSecret string
	// AuthMethod selects how the client authenticates; the zero value is
	// ClientSecretBasic.
	AuthMethod AuthMethod
	// Key signs the assertions of PrivateKeyJWT.
	Key *AssertionKey
	// Audience is the aud claim of client assertions, whichever endpoint
	// they are sent to; the caller sets it to the token endpoint.
	Audience string
	// Now is the clock of the iat and exp of client assertions and of
	// Response.Expiry; nil means time.Now.
	Now func() time.Time
}

// now returns the time of c's clock.
func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Response is a successful token response (RFC 6749 section 5.1).
// Only AccessToken, Expiry and Scope are checked; see ExchangeCode.
type Response struct {
	AccessToken string
	// TokenType is returned as received; it is not checked.
	TokenType string
	// IDToken is returned as received; it is not verified.
	IDToken string
	// RefreshToken is empty if the server issued none. After a refresh that
	// means the server did not rotate it, and the old one remains in use.
	RefreshToken string
	// Scope is the granted scope, as received.
	Scope string
	// Expiry is when AccessToken expires: the Client's clock plus
	// expires_in (whose sign is not checked). A response without
	// expires_in, which RFC 6749 only recommends, takes the exp claim of
	// AccessToken when it is a JWT, decoded without verification: Expiry
	// only schedules refreshes. The zero time means the expiry is unknown.
	Expiry time.Time
}

// operation holds what differs between requests to the token and PAR
// endpoints.
type operation struct {
	success int // status code of a successful response
	// code and description stand in for a missing error and
	// error_description in an OAuth error response.
	code, description string
	// failure starts the message for an unexpected status code.
	failure string
}

var (
	codeGrant = operation{
		http.StatusOK, "code_grant_failed", "Authorization code grant failed",
		"Error while performing token grant",
	}
	refreshGrant = operation{
		http.StatusOK, "refresh_grant_failed", "Refresh token grant failed",
		"Error while performing refresh token grant",
	}
	pushedAuthorization = operation{
		http.StatusCreated, "par_request_failed", "Pushed Authorization Request Failed",
		"Error while performing pushed authorization request",
	}
	revocation = operation{
		http.StatusOK, "revocation_failed", "Token revocation failed",
		"Error while performing token revocation",
	}
)

// ExchangeCode redeems an authorization code at tokenURL
// (RFC 6749 section 4.1.3). The body carries grant_type, code and
// redirect_uri, then code_verifier (RFC 7636) if it is not empty, then one
// resource parameter (RFC 8707) per element of resources, in that order.
// The arguments are sent as given, without checks of their own.
//
// The response must have status 200 and be a JSON object with a non-empty
// access_token string and a scope string that is not blank (it may be
// empty when resources is not: a resource server may accept none of the
// scopes, and the token then grants nothing there); expires_in,
// when present and not null, must be an integer (a JSON number or a string
// holding one). Every error returned is an *Error.
func (c *Client) ExchangeCode(ctx context.Context, tokenURL, code, redirectURI, codeVerifier string, resources []string) (*Response, error) {
	var f form
	f.add("grant_type", "authorization_code")
	f.add("code", code)
	f.add("redirect_uri", redirectURI)
	if codeVerifier != "" {
		f.add("code_verifier", codeVerifier)
	}
	for _, r := range resources {
		f.add("resource", r)
	}
	return c.grant(ctx, tokenURL, &f, codeGrant, len(resources) > 0)
}

// Refresh redeems a refresh token at tokenURL (RFC 6749 section 6), so the
// server is always asked, whatever the expiry of the current access token.
// The body carries grant_type and refresh_token, then scope if it is not
// blank, with runs of white space collapsed to one space, then one resource
// parameter per element of resources. refreshToken is sent as given.
//
// The response is checked as for ExchangeCode. Its RefreshToken is the
// rotated refresh token, or empty if the server did not rotate it.
func (c *Client) Refresh(ctx context.Context, tokenURL, refreshToken string, resources []string, scope string) (*Response, error) {
	var f form
	f.add("grant_type", "refresh_token")
	f.add("refresh_token", refreshToken)
	if scope := strings.Join(strings.Fields(scope), " "); scope != "" {
		f.add("scope", scope)
	}
	for _, r := range resources {
		f.add("resource", r)
	}
	return c.grant(ctx, tokenURL, &f, refreshGrant, len(resources) > 0)
}

// PushAuthorization sends the authorization request params to parURL
// (RFC 9126) and returns the request_uri to pass to the authorization
// endpoint. Any client_id or client_secret in params is replaced by the
// Client's own; the other parameters are sent as given.
//
// The response must have status 201 and be a JSON object with a non-empty
// request_uri string. Its expires_in is not checked. Any error returned is
// an *Error.
func (c *Client) PushAuthorization(ctx context.Context, parURL string, params url.Values) (requestURI string, err error) {
	var f form
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if k == "client_id" || k == "client_secret" {
			continue
		}
		for _, v := range params[k] {
			f.add(k, v)
		}
	}
	// RFC 9126 section 2.1 has client_id in the body whatever the client
	// authentication; post adds it itself for the other methods.
	if c.AuthMethod == ClientSecretBasic {
		f.add("client_id", c.ClientID)
	}
	body, err := c.post(ctx, parURL, &f, pushedAuthorization)
	if err != nil {
		return "", err
	}
	status := pushedAuthorization.success
	obj, err := decodeObject[json.RawMessage](body)
	if err != nil {
		return "", parseError(status, err)
	}
	requestURI = stringMember(obj, "request_uri")
	if requestURI == "" {
		return "", validationError(status, "Missing required 'request_uri' field", nil)
	}
	return requestURI, nil
}

// Revoke asks the server to revoke token at revocationURL (RFC 7009
// section 2.1), authenticating as for the token endpoint. The body carries
// token, then token_type_hint if it is not empty. Any response with status
// 200 is success, whatever its body, since the server answers 200 for a
// token it does not know as well (section 2.2). Any error returned is an
// *Error.
func (c *Client) Revoke(ctx context.Context, revocationURL, token, tokenTypeHint string) error {
	var f form
	f.add("token", token)
	if tokenTypeHint != "" {
		f.add("token_type_hint", tokenTypeHint)
	}
	_, err := c.post(ctx, revocationURL, &f, revocation)
	return err
}

// grant posts a token request and parses the token response. forResource
// accepts an empty scope string: see ExchangeCode.
func (c *Client) grant(ctx context.Context, tokenURL string, f *form, op operation, forResource bool) (*Response, error) {
	body, err := c.post(ctx, tokenURL, f, op)
	if err != nil {
		return nil, err
	}
	obj, err := decodeObject[json.RawMessage](body)
	if err != nil {
		return nil, parseError(op.success, err)
	}
	r := &Response{
		AccessToken:  stringMember(obj, "access_token"),
		TokenType:    stringMember(obj, "token_type"),
		IDToken:      stringMember(obj, "id_token"),
		RefreshToken: stringMember(obj, "refresh_token"),
		Scope:        stringMember(obj, "scope"),
	}
	if r.AccessToken == "" {
		return nil, validationError(op.success, "Missing required 'access_token' field", nil)
	}
	if r.Expiry, err = c.expiry(obj, r.AccessToken); err != nil {
		return nil, validationError(op.success, "Invalid 'expires_in' field", err)
	}
	grantsNothing := forResource && r.Scope == ""
	if !isString(obj, "scope") || strings.TrimSpace(r.Scope) == "" && !grantsNothing {
		return nil, validationError(op.success, "Missing or invalid 'scope' field", nil)
	}
	return r, nil
}

// expiry returns the Expiry of a token response obj for accessToken; the
// error reports an expires_in that is not an integer.
func (c *Client) expiry(obj map[string]json.RawMessage, accessToken string) (time.Time, error) {
	if raw, ok := obj["expires_in"]; ok && string(raw) != "null" {
		seconds, err := int64Member(obj, "expires_in")
		if err != nil {
			return time.Time{}, err
		}
		return c.now().Add(time.Duration(seconds) * time.Second), nil
	}
	return jwtExpiry(accessToken), nil
}

// jwtExpiry returns the exp claim of token if it is a compact JWT (JWS)
// with an integer exp, else the zero time. It verifies nothing.
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}
	}
	exp, err := claims.Exp.Int64()
	if err != nil || exp <= 0 {
		return time.Time{}
	}
	return time.Unix(exp, 0)
}

// post adds the client's credentials to f, posts it to endpoint and returns
// the body of a response with status op.success. Any other outcome is an
// *Error.
func (c *Client) post(ctx context.Context, endpoint string, f *form, op operation) ([]byte, error) {
	switch c.AuthMethod {
	case ClientSecretBasic:
	case ClientSecretPost:
		f.add("client_id", c.ClientID)
		if c.ClientSecret != "" {
			f.add("client_secret", c.ClientSecret)
		}
	case ClientSecretJWT, PrivateKeyJWT:
		a, err := c.assertion()
		if err != nil {
			return nil, validationError(0, "Cannot create client assertion", err)
		}
		f.add("client_id", c.ClientID)
		f.add("client_assertion_type", assertionType)
		f.add("client_assertion", a)
	case TLSClientAuth, SelfSignedTLSClientAuth:
		f.add("client_id", c.ClientID)
	default:
		return nil, validationError(0, fmt.Sprintf("Unsupported client authentication method %d", c.AuthMethod), nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(f.String()))
	if err != nil {
		return nil, requestError(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.AuthMethod == ClientSecretBasic {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	resp, err := send(c.HTTPClient, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	switch resp.StatusCode {
	case op.success:
		return readBody(resp)
	case http.StatusBadRequest, http.StatusUnauthorized:
		body, err := readBody(resp)
		if err != nil {
			return nil, err
		}
		return nil, op.errorResponse(resp.StatusCode, body).withAnswer(resp.Header, body)
	}
	return nil, unexpectedStatus(op.failure, resp.StatusCode).withAnswer(resp.Header, peekBody(resp))
}

// errorResponse interprets a 400 or 401 response body as an OAuth error
// response. Defaults stand in for a missing error or error_description, and
// for a 400 body that is not a JSON object; a 401 is an OAuth error only if
// its body names one.
func (op operation) errorResponse(status int, body []byte) *Error {
	obj, _ := decodeObject[json.RawMessage](body) // a bad body counts as one without error
	code := stringMember(obj, "error")
	if code == "" && status == http.StatusUnauthorized {
		return unexpectedStatus(op.failure, status)
	}
	return oauthError(status, cmp.Or(code, op.code), cmp.Or(stringMember(obj, "error_description"), op.description))
}

// send performs req with hc, turning a failure into an *Error.
func send(hc *http.Client, req *http.Request) (*http.Response, error) {
	if hc == nil {
		return nil, validationError(0, "HTTPClient is required", nil)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, requestError(err)
	}
	return resp, nil
}

var errNotObject = errors.New("response body is not a JSON object")

// decodeObject decodes body, which must hold a JSON object.
func decodeObject[V any](body []byte) (map[string]V, error) {
	var obj map[string]V
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	if obj == nil { // the body was null
		return nil, errNotObject
	}
	return obj, nil
}

// stringMember returns the member name of obj, or "" if it is absent or not
// a JSON string.
func stringMember(obj map[string]json.RawMessage, name string) string {
	var s string
	if err := json.Unmarshal(obj[name], &s); err != nil {
		return ""
	}
	return s
}

// isString reports whether the member name of obj is a JSON string.
func isString(obj map[string]json.RawMessage, name string) bool {
	var s string
	return json.Unmarshal(obj[name], &s) == nil
}

// int64Member returns the member name of obj, which must be an integer held
// in a JSON number or a JSON string.
func int64Member(obj map[string]json.RawMessage, name string) (int64, error) {
	raw, ok := obj[name]
	if !ok {
		return 0, fmt.Errorf("no %s member", name)
	}
	var n json.Number // decodes from a number, or from a string holding one
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	i, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return i, nil
}

func oauthError(status int, code, description string) *Error {
	return &Error{Kind: KindOAuth, Code: code, Description: description, StatusCode: status, Message: code}
}

func requestError(err error) *Error {
	return &Error{Kind: KindHTTP, Message: err.Error(), Err: err}
}

func unexpectedStatus(failure string, status int) *Error {
	return &Error{
		Kind:       KindHTTP,
		StatusCode: status,
		Message:    failure + ". Unexpected status code: " + strconv.Itoa(status),
	}
}

func parseError(status int, err error) *Error {
	return &Error{
		Kind:       KindHTTP,
		StatusCode: status,
		Message:    "Failed to parse response body as JSON : " + err.Error(),
		Err:        err,
	}
}

func validationError(status int, message string, err error) *Error {
	return &Error{Kind: KindValidation, StatusCode: status, Message: message, Err: err}
}

// form builds an application/x-www-form-urlencoded body whose parameters
// keep the order they were added in; url.Values.Encode sorts them by name.
type form struct{ b strings.Builder }

func (f *form) add(name, value string) {
	if f.b.Len() > 0 {
		f.b.WriteByte('&')
	}
	f.b.WriteString(url.QueryEscape(name))
	f.b.WriteByte('=')
	f.b.WriteString(url.QueryEscape(value))
}

func (f *form) String() string { return f.b.String() }
