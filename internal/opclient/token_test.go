package opclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	clientID     = "my:client"
	clientSecret = "p@ss word/+"
	// The credentials form-urlencoded, as RFC 6749 section 2.3.1 requires.
	encodedID     = "my%3Aclient"
	encodedSecret = "p%40ss+word%2F%2B"

	tokenBody = `{"access_token":"at","token_type":"Bearer","id_token":"idt","refresh_token":"rt2","scope":"openid api1","expires_in":3600}`
	parBody   = `{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}`
)

var basicAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(encodedID+":"+encodedSecret))

// request is what a test server saw of a request.
type request struct {
	method, contentType, accept, authorization, body string
}

// recorder holds the requests a test server has seen.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (rec *recorder) requests() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.reqs
}

// newServer starts a server that answers every request with status, body
// and the given header fields (name, value pairs), and returns it with the
// requests it sees.
func newServer(t *testing.T, status int, body string, header ...string) (*httptest.Server, *recorder) {
	t.Helper()
	rec := new(recorder)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request body: %v", err)
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, request{
			method:        r.Method,
			contentType:   r.Header.Get("Content-Type"),
			accept:        r.Header.Get("Accept"),
			authorization: r.Header.Get("Authorization"),
			body:          string(b),
		})
		rec.mu.Unlock()
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func newClient(srv *httptest.Server, m AuthMethod) *Client {
	return &Client{HTTPClient: srv.Client(), ClientID: clientID, ClientSecret: clientSecret, AuthMethod: m}
}

// call is one of the package's operations, reduced to its error.
type call func(ctx context.Context, c *Client, endpoint string) error

var (
	exchange call = func(ctx context.Context, c *Client, endpoint string) error {
		_, err := c.ExchangeCode(ctx, endpoint, "c0de", "https://app.example/callback", "verifier", []string{"https://api1", "r2"})
		return err
	}
	refresh call = func(ctx context.Context, c *Client, endpoint string) error {
		_, err := c.Refresh(ctx, endpoint, "rt", nil, "")
		return err
	}
	push call = func(ctx context.Context, c *Client, endpoint string) error {
		_, err := c.PushAuthorization(ctx, endpoint, url.Values{"scope": {"openid"}})
		return err
	}
	userinfo call = func(ctx context.Context, c *Client, endpoint string) error {
		_, err := UserInfo(ctx, c.HTTPClient, endpoint, "at", "", nil)
		return err
	}
)

func TestRequestWireFormat(t *testing.T) {
	tests := []struct {
		name     string
		method   AuthMethod
		status   int
		response string
		call     call
		wantBody string
		wantAuth string
	}{
		{
			name: "refresh without options", method: ClientSecretBasic, status: 200, response: tokenBody,
			call:     refresh,
			wantBody: "grant_type=refresh_token&refresh_token=rt",
			wantAuth: basicAuth,
		},
		{
			name: "refresh SDK vector", method: ClientSecretBasic, status: 200, response: tokenBody,
			call: func(ctx context.Context, c *Client, endpoint string) error {
				_, err := c.Refresh(ctx, endpoint, "rt", []string{"resource1", "resource2"}, "api1 api2")
				return err
			},
			wantBody: "grant_type=refresh_token&refresh_token=rt&scope=api1+api2&resource=resource1&resource=resource2",
			wantAuth: basicAuth,
		},
		{
			name: "refresh collapses scope white space", method: ClientSecretBasic, status: 200, response: tokenBody,
			call: func(ctx context.Context, c *Client, endpoint string) error {
				_, err := c.Refresh(ctx, endpoint, "rt", nil, " openid \t profile\n")
				return err
			},
			wantBody: "grant_type=refresh_token&refresh_token=rt&scope=openid+profile",
			wantAuth: basicAuth,
		},
		{
			name: "refresh omits blank scope", method: ClientSecretBasic, status: 200, response: tokenBody,
			call: func(ctx context.Context, c *Client, endpoint string) error {
				_, err := c.Refresh(ctx, endpoint, "rt", nil, " \t ")
				return err
			},
			wantBody: "grant_type=refresh_token&refresh_token=rt",
			wantAuth: basicAuth,
		},
		{
			name: "refresh client_secret_post", method: ClientSecretPost, status: 200, response: tokenBody,
			call:     refresh,
			wantBody: "grant_type=refresh_token&refresh_token=rt&client_id=" + encodedID + "&client_secret=" + encodedSecret,
		},
		{
			name: "refresh tls_client_auth: client_id only", method: TLSClientAuth, status: 200, response: tokenBody,
			call:     refresh,
			wantBody: "grant_type=refresh_token&refresh_token=rt&client_id=" + encodedID,
		},
		{
			name: "refresh self_signed_tls_client_auth: client_id only", method: SelfSignedTLSClientAuth, status: 200, response: tokenBody,
			call:     refresh,
			wantBody: "grant_type=refresh_token&refresh_token=rt&client_id=" + encodedID,
		},
		{
			name: "code grant with verifier and resources", method: ClientSecretBasic, status: 200, response: tokenBody,
			call:     exchange,
			wantBody: "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&code_verifier=verifier&resource=https%3A%2F%2Fapi1&resource=r2",
			wantAuth: basicAuth,
		},
		{
			name: "code grant without verifier", method: ClientSecretBasic, status: 200, response: tokenBody,
			call: func(ctx context.Context, c *Client, endpoint string) error {
				_, err := c.ExchangeCode(ctx, endpoint, "c0de", "https://app.example/cb", "", nil)
				return err
			},
			wantBody: "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
			wantAuth: basicAuth,
		},
		{
			name: "code grant client_secret_post", method: ClientSecretPost, status: 200, response: tokenBody,
			call: func(ctx context.Context, c *Client, endpoint string) error {
				_, err := c.ExchangeCode(ctx, endpoint, "c0de", "https://app.example/cb", "", nil)
				return err
			},
			wantBody: "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&client_id=" + encodedID + "&client_secret=" + encodedSecret,
		},
		{
			name: "PAR client_secret_basic", method: ClientSecretBasic, status: 201, response: parBody,
			call: func(ctx context.Context, c *Client, endpoint string) error {
				_, err := c.PushAuthorization(ctx, endpoint, url.Values{
					"scope":         {"openid api"},
					"response_type": {"code"},
					"resource":      {"r1", "r2"},
					"client_id":     {"someone-else"},
					"client_secret": {"leaked"},
				})
				return err
			},
			wantBody: "resource=r1&resource=r2&response_type=code&scope=openid+api&client_id=" + encodedID,
			wantAuth: basicAuth,
		},
		{
			name: "PAR client_secret_post", method: ClientSecretPost, status: 201, response: parBody,
			call:     push,
			wantBody: "scope=openid&client_id=" + encodedID + "&client_secret=" + encodedSecret,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := newServer(t, tt.status, tt.response)
			if err := tt.call(t.Context(), newClient(srv, tt.method), srv.URL); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			want := []request{{
				method:        http.MethodPost,
				contentType:   "application/x-www-form-urlencoded",
				accept:        "application/json",
				authorization: tt.wantAuth,
				body:          tt.wantBody,
			}}
			if got := seen.requests(); !reflect.DeepEqual(got, want) {
				t.Errorf("server saw\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestPostOmitsEmptySecret(t *testing.T) {
	srv, seen := newServer(t, 200, tokenBody)
	c := &Client{HTTPClient: srv.Client(), ClientID: "pub", AuthMethod: ClientSecretPost}
	if _, err := c.Refresh(t.Context(), srv.URL, "rt", nil, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := seen.requests()[0].body, "grant_type=refresh_token&refresh_token=rt&client_id=pub"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func TestResponse(t *testing.T) {
	// A body of exactly MaxBodySize bytes, padded with white space, is read.
	fullBody := tokenBody + strings.Repeat(" ", MaxBodySize-len(tokenBody))
	now := time.Unix(1700000000, 0)
	enc := base64.RawURLEncoding.EncodeToString
	jwtAT := enc([]byte(`{"alg":"RS256","typ":"at+jwt"}`)) + "." + enc([]byte(`{"sub":"u","exp":1700003600}`)) + ".c2ln"
	jwtNoExp := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"sub":"u"}`)) + ".c2ln"
	tests := []struct {
		name string
		body string
		want Response
	}{
		{
			name: "all fields",
			body: tokenBody,
			want: Response{AccessToken: "at", TokenType: "Bearer", IDToken: "idt", RefreshToken: "rt2", Scope: "openid api1", Expiry: now.Add(time.Hour)},
		},
		{
			name: "expires_in as string, no refresh token",
			body: `{"access_token":"at","token_type":"Bearer","scope":"openid","expires_in":"120"}`,
			want: Response{AccessToken: "at", TokenType: "Bearer", Scope: "openid", Expiry: now.Add(2 * time.Minute)},
		},
		{
			name: "optional fields of the wrong type are dropped",
			body: `{"access_token":"at","token_type":1,"id_token":{},"refresh_token":null,"scope":"openid","expires_in":0}`,
			want: Response{AccessToken: "at", Scope: "openid", Expiry: now},
		},
		{
			name: "body of exactly 1 MiB",
			body: fullBody,
			want: Response{AccessToken: "at", TokenType: "Bearer", IDToken: "idt", RefreshToken: "rt2", Scope: "openid api1", Expiry: now.Add(time.Hour)},
		},
		// RFC 6749 section 5.1 only recommends expires_in.
		{
			name: "no expires_in, opaque access token: unknown expiry",
			body: `{"access_token":"at","scope":"openid"}`,
			want: Response{AccessToken: "at", Scope: "openid"},
		},
		{
			name: "expires_in null, opaque access token: unknown expiry",
			body: `{"access_token":"at","scope":"openid","expires_in":null}`,
			want: Response{AccessToken: "at", Scope: "openid"},
		},
		{
			name: "no expires_in, JWT access token: its exp",
			body: `{"access_token":"` + jwtAT + `","scope":"openid"}`,
			want: Response{AccessToken: jwtAT, Scope: "openid", Expiry: time.Unix(1700003600, 0)},
		},
		{
			name: "no expires_in, JWT access token without exp: unknown expiry",
			body: `{"access_token":"` + jwtNoExp + `","scope":"openid"}`,
			want: Response{AccessToken: jwtNoExp, Scope: "openid"},
		},
		{
			name: "expires_in wins over the JWT's exp",
			body: `{"access_token":"` + jwtAT + `","scope":"openid","expires_in":60}`,
			want: Response{AccessToken: jwtAT, Scope: "openid", Expiry: now.Add(time.Minute)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newServer(t, 200, tt.body)
			c := newClient(srv, ClientSecretBasic)
			c.Now = func() time.Time { return now }
			for name, grant := range map[string]func() (*Response, error){
				"ExchangeCode": func() (*Response, error) {
					return c.ExchangeCode(t.Context(), srv.URL, "c", "r", "", nil)
				},
				"Refresh": func() (*Response, error) { return c.Refresh(t.Context(), srv.URL, "rt", nil, "") },
			} {
				got, err := grant()
				if err != nil {
					t.Fatalf("%s: unexpected error: %v", name, err)
				}
				if *got != tt.want {
					t.Errorf("%s = %+v, want %+v", name, *got, tt.want)
				}
			}
		})
	}
}

// TestResponseEmptyScopeForResource: a token requested for a resource that
// accepts none of the scopes answers an empty scope (oidc-provider), which
// is accepted: the token grants nothing there.
func TestResponseEmptyScopeForResource(t *testing.T) {
	srv, _ := newServer(t, 200, `{"access_token":"at","scope":""}`)
	c := newClient(srv, ClientSecretBasic)
	for name, grant := range map[string]func() (*Response, error){
		"ExchangeCode": func() (*Response, error) {
			return c.ExchangeCode(t.Context(), srv.URL, "c", "r", "", []string{"https://api1"})
		},
		"Refresh": func() (*Response, error) { return c.Refresh(t.Context(), srv.URL, "rt", []string{"https://api1"}, "") },
	} {
		if got, err := grant(); err != nil || got.AccessToken != "at" || got.Scope != "" {
			t.Errorf("%s = %+v, %v; want the token with an empty scope", name, got, err)
		}
	}
}

func TestPushAuthorizationResult(t *testing.T) {
	srv, _ := newServer(t, 201, parBody)
	got, err := newClient(srv, ClientSecretBasic).PushAuthorization(t.Context(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "urn:ietf:params:oauth:request_uri:abc"; got != want {
		t.Errorf("request_uri = %q, want %q", got, want)
	}
}

func TestUserInfo(t *testing.T) {
	srv, seen := newServer(t, 200, `{"sub":"u1","email_verified":true,"n":2}`)
	got, err := UserInfo(t.Context(), srv.Client(), srv.URL, "a.b.c", "u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &UserInfoResponse{Claims: map[string]any{"sub": "u1", "email_verified": true, "n": 2.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UserInfo = %+v, want %+v", got, want)
	}
	wantReqs := []request{{method: http.MethodGet, accept: "application/json, application/jwt", authorization: "Bearer a.b.c"}}
	if got := seen.requests(); !reflect.DeepEqual(got, wantReqs) {
		t.Errorf("server saw %+v, want %+v", got, wantReqs)
	}
}

// TestUserInfoSigned: an application/jwt answer (OpenID Connect Core
// section 5.3.2) is handed as received to verify, even with parameters on
// its media type, and answers the claims verify returns; verify's error is
// returned as is.
func TestUserInfoSigned(t *testing.T) {
	for _, contentType := range []string{"application/jwt", "application/jwt; charset=utf-8", "Application/JWT"} {
		srv, _ := newServer(t, 200, "h.p.s\n", "Content-Type", contentType)
		var verified string
		verify := func(_ context.Context, jwt string) (map[string]any, error) {
			verified = jwt
			return map[string]any{"sub": "u1", "iss": "op"}, nil
		}
		got, err := UserInfo(t.Context(), srv.Client(), srv.URL, "a.b.c", "u1", verify)
		if err != nil {
			t.Fatalf("%s: %v", contentType, err)
		}
		if want := (&UserInfoResponse{Claims: map[string]any{"sub": "u1", "iss": "op"}, Signed: true}); !reflect.DeepEqual(got, want) || verified != "h.p.s" {
			t.Errorf("%s: UserInfo = %+v after verifying %q, want %+v after verifying h.p.s", contentType, got, verified, want)
		}
	}
	srv, _ := newServer(t, 200, "h.p.s", "Content-Type", "application/jwt")
	bad := errors.New("bad signature")
	verify := func(context.Context, string) (map[string]any, error) { return nil, bad }
	if _, err := UserInfo(t.Context(), srv.Client(), srv.URL, "a.b.c", "u1", verify); err != bad {
		t.Errorf("UserInfo with a JWT verify refuses: %v, want verify's error", err)
	}
}

// TestUserInfoOfAnotherUser: claims whose sub is not the expected user's,
// or that lack a sub, are a KindHTTP error, in a JSON answer or a signed
// one; with sub empty any claims are answered.
func TestUserInfoOfAnotherUser(t *testing.T) {
	for _, tt := range []struct {
		name, body, contentType, sub string
		wantErr                      bool
	}{
		{"JSON of another user", `{"sub":"u2"}`, "application/json", "u1", true},
		{"JSON without sub", `{"name":"Ada"}`, "application/json", "u1", true},
		{"signed, of another user", "h.p.s", "application/jwt", "u1", true},
		{"no user expected", `{"sub":"u2"}`, "application/json", "", false},
	} {
		srv, _ := newServer(t, 200, tt.body, "Content-Type", tt.contentType)
		verify := func(context.Context, string) (map[string]any, error) { return map[string]any{"sub": "u2"}, nil }
		_, err := UserInfo(t.Context(), srv.Client(), srv.URL, "a.b.c", tt.sub, verify)
		var e *Error
		if got := errors.As(err, &e) && e.Kind == KindHTTP && e.StatusCode == 200; got != tt.wantErr || (err != nil) != tt.wantErr {
			t.Errorf("%s: %v, want a KindHTTP error: %t", tt.name, err, tt.wantErr)
		}
	}
}

func TestErrors(t *testing.T) {
	oversized := `{"access_token":"` + strings.Repeat("a", MaxBodySize) + `"}`
	const (
		tokenJSON = "Failed to parse response body as JSON : "
		expiresIn = "Invalid 'expires_in' field"
		scope     = "Missing or invalid 'scope' field"
	)
	tests := []struct {
		name   string
		call   call
		status int
		header []string
		body   string

		want *Error // Err is compared with errors.Is when set
		// wantErrAs, if set, is a pointer to the type Err must have.
		wantErrAs any
		// msgPrefix makes want.Message a prefix of the message.
		msgPrefix bool
	}{
		// OAuth errors from the token and PAR endpoints.
		{name: "code grant 400", call: exchange, status: 400, body: `{"error":"invalid_grant","error_description":"Code expired"}`,
			want: &Error{Kind: KindOAuth, Code: "invalid_grant", Description: "Code expired", StatusCode: 400, Message: "invalid_grant"}},
		{name: "code grant 400 defaults", call: exchange, status: 400, body: `{}`,
			want: &Error{Kind: KindOAuth, Code: "code_grant_failed", Description: "Authorization code grant failed", StatusCode: 400, Message: "code_grant_failed"}},
		{name: "code grant 400 not JSON", call: exchange, status: 400, body: `<html>`,
			want: &Error{Kind: KindOAuth, Code: "code_grant_failed", Description: "Authorization code grant failed", StatusCode: 400, Message: "code_grant_failed"}},
		{name: "code grant 400 error not a string", call: exchange, status: 400, body: `{"error":7,"error_description":"d"}`,
			want: &Error{Kind: KindOAuth, Code: "code_grant_failed", Description: "d", StatusCode: 400, Message: "code_grant_failed"}},
		{name: "code grant 401 with error", call: exchange, status: 401, body: `{"error":"invalid_client"}`,
			want: &Error{Kind: KindOAuth, Code: "invalid_client", Description: "Authorization code grant failed", StatusCode: 401, Message: "invalid_client"}},
		{name: "refresh 400 defaults", call: refresh, status: 400, body: `{"error":""}`,
			want: &Error{Kind: KindOAuth, Code: "refresh_grant_failed", Description: "Refresh token grant failed", StatusCode: 400, Message: "refresh_grant_failed"}},
		{name: "refresh 400", call: refresh, status: 400, body: `{"error":"invalid_grant"}`,
			want: &Error{Kind: KindOAuth, Code: "invalid_grant", Description: "Refresh token grant failed", StatusCode: 400, Message: "invalid_grant"}},
		{name: "PAR 400 defaults", call: push, status: 400, body: `null`,
			want: &Error{Kind: KindOAuth, Code: "par_request_failed", Description: "Pushed Authorization Request Failed", StatusCode: 400, Message: "par_request_failed"}},
		{name: "PAR 401 with error", call: push, status: 401, body: `{"error":"invalid_client","error_description":"Bad secret"}`,
			want: &Error{Kind: KindOAuth, Code: "invalid_client", Description: "Bad secret", StatusCode: 401, Message: "invalid_client"}},

		// Unexpected status codes.
		{name: "code grant 401 without error", call: exchange, status: 401, body: `{}`,
			want: &Error{Kind: KindHTTP, StatusCode: 401, Message: "Error while performing token grant. Unexpected status code: 401"}},
		{name: "code grant 500", call: exchange, status: 500, body: tokenBody,
			want: &Error{Kind: KindHTTP, StatusCode: 500, Message: "Error while performing token grant. Unexpected status code: 500"}},
		{name: "code grant 201", call: exchange, status: 201, body: tokenBody,
			want: &Error{Kind: KindHTTP, StatusCode: 201, Message: "Error while performing token grant. Unexpected status code: 201"}},
		{name: "refresh 401 not JSON", call: refresh, status: 401, body: `denied`,
			want: &Error{Kind: KindHTTP, StatusCode: 401, Message: "Error while performing refresh token grant. Unexpected status code: 401"}},
		{name: "refresh 503", call: refresh, status: 503, body: oversized,
			want: &Error{Kind: KindHTTP, StatusCode: 503, Message: "Error while performing refresh token grant. Unexpected status code: 503"}},
		{name: "PAR 200", call: push, status: 200, body: parBody,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: "Error while performing pushed authorization request. Unexpected status code: 200"}},
		{name: "userinfo 401 without challenge", call: userinfo, status: 401, body: `{"error":"invalid_token"}`,
			want: &Error{Kind: KindHTTP, StatusCode: 401, Message: "Error while fetching userinfo. Unexpected status code: 401"}},
		{name: "userinfo 403", call: userinfo, status: 403, header: []string{"WWW-Authenticate", `Bearer error="insufficient_scope"`},
			want: &Error{Kind: KindRefused, StatusCode: 403, Code: "insufficient_scope", Description: "The access token does not allow reading userinfo", Message: "insufficient_scope"}},
		{name: "userinfo 403 without a challenge", call: userinfo, status: 403,
			want: &Error{Kind: KindRefused, StatusCode: 403, Code: "insufficient_scope", Description: "The access token does not allow reading userinfo", Message: "insufficient_scope"}},

		// Userinfo challenges.
		{name: "userinfo 401 challenge", call: userinfo, status: 401,
			header: []string{"WWW-Authenticate", `Bearer realm="op", error="invalid_token", error_description="The access token expired"`},
			want:   &Error{Kind: KindRefused, Code: "invalid_token", Description: "The access token expired", StatusCode: 401, Message: "invalid_token"}},
		{name: "userinfo 401 challenge defaults", call: userinfo, status: 401, header: []string{"WWW-Authenticate", `Bearer realm="op"`},
			want: &Error{Kind: KindRefused, Code: "userinfo_failed", Description: "Userinfo authentication error", StatusCode: 401, Message: "userinfo_failed"}},

		// Bodies that cannot be read or parsed.
		{name: "code grant garbage JSON", call: exchange, status: 200, body: `{"access_token":`,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: tokenJSON}, msgPrefix: true, wantErrAs: new(*json.SyntaxError)},
		{name: "refresh not JSON", call: refresh, status: 200, body: `access_token=at`,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: tokenJSON}, msgPrefix: true, wantErrAs: new(*json.SyntaxError)},
		{name: "refresh trailing garbage", call: refresh, status: 200, body: tokenBody + `}`,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: tokenJSON}, msgPrefix: true, wantErrAs: new(*json.SyntaxError)},
		{name: "code grant JSON array", call: exchange, status: 200, body: `[]`,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: tokenJSON}, msgPrefix: true, wantErrAs: new(*json.UnmarshalTypeError)},
		{name: "code grant JSON null", call: exchange, status: 200, body: `null`,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: tokenJSON + "response body is not a JSON object", Err: errNotObject}},
		{name: "PAR garbage JSON", call: push, status: 201, body: `urn:x`,
			want: &Error{Kind: KindHTTP, StatusCode: 201, Message: tokenJSON}, msgPrefix: true, wantErrAs: new(*json.SyntaxError)},
		{name: "userinfo garbage JSON", call: userinfo, status: 200, body: `{"sub"}`,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: tokenJSON}, msgPrefix: true, wantErrAs: new(*json.SyntaxError)},
		{name: "userinfo JSON string", call: userinfo, status: 200, body: `"sub"`,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: tokenJSON}, msgPrefix: true, wantErrAs: new(*json.UnmarshalTypeError)},
		{name: "userinfo JSON null", call: userinfo, status: 200, body: `null`,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: tokenJSON + "response body is not a JSON object", Err: errNotObject}},
		{name: "code grant oversized", call: exchange, status: 200, body: oversized,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: "Response body exceeds 1048576 bytes"}},
		{name: "refresh 400 oversized", call: refresh, status: 400, body: oversized,
			want: &Error{Kind: KindHTTP, StatusCode: 400, Message: "Response body exceeds 1048576 bytes"}},
		{name: "PAR oversized", call: push, status: 201, body: oversized,
			want: &Error{Kind: KindHTTP, StatusCode: 201, Message: "Response body exceeds 1048576 bytes"}},
		{name: "userinfo oversized", call: userinfo, status: 200, body: oversized,
			want: &Error{Kind: KindHTTP, StatusCode: 200, Message: "Response body exceeds 1048576 bytes"}},

		// Response shape.
		{name: "no access_token", call: exchange, status: 200, body: `{"scope":"openid","expires_in":60}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: "Missing required 'access_token' field"}},
		{name: "access_token not a string", call: refresh, status: 200, body: `{"access_token":1,"scope":"openid","expires_in":60}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: "Missing required 'access_token' field"}},
		{name: "expires_in non-numeric string", call: refresh, status: 200, body: `{"access_token":"at","scope":"openid","expires_in":"soon"}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: expiresIn}},
		{name: "expires_in empty string", call: exchange, status: 200, body: `{"access_token":"at","scope":"openid","expires_in":""}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: expiresIn}},
		{name: "expires_in boolean", call: exchange, status: 200, body: `{"access_token":"at","scope":"openid","expires_in":true}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: expiresIn}, wantErrAs: new(*json.UnmarshalTypeError)},
		{name: "expires_in fraction", call: exchange, status: 200, body: `{"access_token":"at","scope":"openid","expires_in":1.5}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: expiresIn}},
		{name: "expires_in overflows int64", call: exchange, status: 200, body: `{"access_token":"at","scope":"openid","expires_in":9223372036854775808}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: expiresIn}},
		{name: "no scope", call: exchange, status: 200, body: `{"access_token":"at","expires_in":60}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: scope}},
		{name: "empty scope", call: refresh, status: 200, body: `{"access_token":"at","expires_in":60,"scope":""}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: scope}},
		{name: "blank scope for a resource", call: exchange, status: 200, body: `{"access_token":"at","expires_in":60,"scope":" "}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: scope}},
		{name: "blank scope", call: refresh, status: 200, body: `{"access_token":"at","expires_in":60,"scope":" "}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: scope}},
		{name: "scope not a string", call: exchange, status: 200, body: `{"access_token":"at","expires_in":60,"scope":["openid"]}`,
			want: &Error{Kind: KindValidation, StatusCode: 200, Message: scope}},
		{name: "PAR no request_uri", call: push, status: 201, body: `{"expires_in":60}`,
			want: &Error{Kind: KindValidation, StatusCode: 201, Message: "Missing required 'request_uri' field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newServer(t, tt.status, tt.body, tt.header...)
			err := tt.call(t.Context(), newClient(srv, ClientSecretBasic), srv.URL)
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("error = %v (%T), want *Error", err, err)
			}
			if got.Kind != tt.want.Kind || got.Code != tt.want.Code || got.Description != tt.want.Description || got.StatusCode != tt.want.StatusCode {
				t.Errorf("error = %+v, want %+v", got, tt.want)
			}
			if tt.msgPrefix && !strings.HasPrefix(got.Message, tt.want.Message) || !tt.msgPrefix && got.Message != tt.want.Message {
				t.Errorf("Message = %q, want %q", got.Message, tt.want.Message)
			}
			if tt.want.Err != nil && !errors.Is(err, tt.want.Err) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want.Err)
			}
			if tt.wantErrAs != nil && !errors.As(err, tt.wantErrAs) {
				t.Errorf("error %v wraps no %T", err, tt.wantErrAs)
			}
		})
	}
}

// TestErrorAnswer: an error built from an answer keeps its header, without
// Set-Cookie, and the start of its body.
func TestErrorAnswer(t *testing.T) {
	long := `{"error":"invalid_grant","error_description":"` + strings.Repeat("x", MaxRawBody) + `"}`
	for name, tc := range map[string]struct {
		call   call
		status int
		body   string
	}{
		"token 400":    {refresh, 400, long},
		"token 500":    {refresh, 500, long},
		"PAR 401":      {push, 401, `{"error":"invalid_client"}`},
		"userinfo 403": {userinfo, 403, "forbidden"},
		"userinfo 500": {userinfo, 500, "oops"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := newServer(t, tc.status, tc.body, "Set-Cookie", "a=b", "X-Request-Id", "r1")
			var e *Error
			if err := tc.call(t.Context(), newClient(srv, ClientSecretBasic), srv.URL); !errors.As(err, &e) {
				t.Fatalf("error %v, want *Error", err)
			}
			if e.Header.Get("X-Request-Id") != "r1" || e.Header.Get("Set-Cookie") != "" || string(e.Body) != tc.body[:min(len(tc.body), MaxRawBody)] {
				t.Errorf("header %v, body %d bytes", e.Header, len(e.Body))
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: KindOAuth, Code: "invalid_grant", Description: "Code expired", Message: "invalid_grant"}, "opclient: invalid_grant: Code expired"},
		{&Error{Kind: KindHTTP, Message: "Error while fetching userinfo. Unexpected status code: 500"}, "opclient: Error while fetching userinfo. Unexpected status code: 500"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestRejectedBeforeSending checks errors raised before any request is made.
func TestRejectedBeforeSending(t *testing.T) {
	srv, seen := newServer(t, 200, tokenBody)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "blank access token",
			err: func() error {
				_, err := UserInfo(t.Context(), srv.Client(), srv.URL, " ", "", nil)
				return err
			}(),
			want: "Access token is required for fetching userinfo",
		},
		{
			name: "unknown auth method",
			err:  refresh(t.Context(), newClient(srv, SelfSignedTLSClientAuth+1), srv.URL),
			want: "Unsupported client authentication method 6",
		},
		{
			name: "nil HTTPClient",
			err:  refresh(t.Context(), &Client{ClientID: clientID}, srv.URL),
			want: "HTTPClient is required",
		},
	}
	for _, tt := range tests {
		var got *Error
		if !errors.As(tt.err, &got) || got.Kind != KindValidation || got.Message != tt.want {
			t.Errorf("%s: error = %#v, want KindValidation %q", tt.name, tt.err, tt.want)
		}
	}
	if n := len(seen.requests()); n != 0 {
		t.Errorf("server saw %d requests, want none", n)
	}
}

func TestNetworkErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c := &Client{HTTPClient: closed.Client()}
	for name, endpoint := range map[string]string{
		"closed server": closed.URL,
		"invalid URL":   "http://[::1",
	} {
		for opName, op := range map[string]call{"ExchangeCode": exchange, "Refresh": refresh, "PushAuthorization": push, "UserInfo": userinfo} {
			err := op(t.Context(), c, endpoint)
			var got *Error
			if !errors.As(err, &got) || got.Kind != KindHTTP || got.StatusCode != 0 || got.Err == nil || got.Message != got.Err.Error() {
				t.Errorf("%s: %s: error = %#v, want KindHTTP wrapping the cause", name, opName, err)
			}
		}
	}
}

// TestDeadline checks that a server that never answers, or stops sending
// its body, costs no more than the context allows.
func TestDeadline(t *testing.T) {
	ops := []struct {
		name, path string // a successful PAR has status 201, the others 200
		call       call
	}{
		{"ExchangeCode", "/token", exchange},
		{"Refresh", "/token", refresh},
		{"PushAuthorization", "/par", push},
		{"UserInfo", "/userinfo", userinfo},
	}
	for name, stallBody := range map[string]bool{"no response": false, "stalled body": true} {
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if stallBody {
					if r.URL.Path == "/par" {
						w.WriteHeader(http.StatusCreated)
					}
					io.WriteString(w, `{"access_token":`)
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) }) // runs first, so Close need not wait for handlers

			c := newClient(srv, ClientSecretBasic)
			for _, op := range ops {
				ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
				start := time.Now()
				err := op.call(ctx, c, srv.URL+op.path)
				elapsed := time.Since(start)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s: error = %v, want context.DeadlineExceeded", op.name, err)
				}
				var got *Error
				if !errors.As(err, &got) || got.Kind != KindHTTP {
					t.Errorf("%s: error = %#v, want KindHTTP", op.name, err)
				}
				if elapsed > 5*time.Second {
					t.Errorf("%s: returned after %v", op.name, elapsed)
				}
			}
		})
	}
}

func TestChallengeParams(t *testing.T) {
	tests := []struct {
		header string
		want   map[string]string
	}{
		{`Bearer error="invalid_token", error_description="The access token expired"`,
			map[string]string{"error": "invalid_token", "error_description": "The access token expired"}},
		{`Bearer realm="op",error=invalid_token`, map[string]string{"realm": "op", "error": "invalid_token"}},
		{`Bearer ERROR = "x"`, map[string]string{"error": "x"}},
		{`Bearer error_description="say \"error=\\\"y\\\"\", ok", error="x"`,
			map[string]string{"error_description": `say "error=\"y\"", ok`, "error": "x"}},
		{`Bearer error="a", Basic realm="b"`, map[string]string{"error": "a"}},
		{`Bearer error="unterminated`, map[string]string{}},
		{`Bearer realm="r", error="unterminated`, map[string]string{"realm": "r"}},
		{`Bearer error`, map[string]string{}},
		{`Bearer`, map[string]string{}},
		{``, map[string]string{}},
	}
	for _, tt := range tests {
		if got := challengeParams(tt.header); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("challengeParams(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestParseAuthMethod(t *testing.T) {
	for m := ClientSecretBasic; m <= SelfSignedTLSClientAuth; m++ {
		if got, err := ParseAuthMethod(m.String()); got != m || err != nil {
			t.Errorf("ParseAuthMethod(%q) = %v, %v, want %v", m.String(), got, err, m)
		}
	}
	for _, name := range []string{"", "spiffe_jwt", "Client_Secret_Basic", "AuthMethod(6)"} {
		if _, err := ParseAuthMethod(name); err == nil || !strings.Contains(err.Error(), "must be client_secret_basic,") {
			t.Errorf("ParseAuthMethod(%q): %v, want the list of names", name, err)
		}
	}
}

func TestAuthMethodParseSecret(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: ec, KeyID: "k", Algorithm: "ES256"}) // fails the case that wants a key
	short, long := strings.Repeat("s", minHMACSecretLength-1), strings.Repeat("s", minHMACSecretLength)
	for _, tc := range []struct {
		method  AuthMethod
		secret  string
		key, ok bool
	}{
		{ClientSecretBasic, short, false, true},
		{ClientSecretPost, short, false, true},
		{ClientSecretJWT, "", false, true},
		{ClientSecretJWT, short, false, false},
		{ClientSecretJWT, long, false, true},
		{PrivateKeyJWT, "", false, true},
		{PrivateKeyJWT, long, false, false},
		{PrivateKeyJWT, string(jwk), true, true},
		{TLSClientAuth, short, false, true},
	} {
		key, err := tc.method.ParseSecret(tc.secret)
		if (key != nil) != tc.key || (err == nil) != tc.ok {
			t.Errorf("%v.ParseSecret(%d bytes) = %v, %v", tc.method, len(tc.secret), key, err)
		}
	}
}
