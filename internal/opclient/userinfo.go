package opclient

import (
	"cmp"
	"context"
	"mime"
	"net/http"
	"strings"
)

// A UserInfoResponse is a successful userinfo response (OpenID Connect
// Core section 5.3.2) that describes the expected user.
type UserInfoResponse struct {
	// Claims are the members of a JSON response, as decoded by
	// encoding/json (numbers as float64), or the claims of a JWT response
	// as its verifier returned them.
	Claims map[string]any
	// Signed reports a response of type application/jwt: Claims then hold
	// the JWT's own claims (iss, aud, ...) too.
	Signed bool
}

// UserInfo fetches the claims about the end-user from userinfoURL
// (OpenID Connect Core section 5.3), presenting accessToken as a Bearer
// token (RFC 6750 section 2.1) with the GET method, and checks that they
// describe user sub (when sub is not empty). hc is required, and verify
// for an answer of type application/jwt.
//
// accessToken must not be blank. The response must have status 200 and be
// either a JSON object or, with Content-Type application/jwt, a JWT that
// verify checks and turns into claims; verify's error is returned as is.
// A 401 with a WWW-Authenticate header, or a 403, is a KindRefused error
// carrying the error and error_description parameters of the header's
// first challenge; claims of another user a KindHTTP error. Any other
// error returned is an *Error.
func UserInfo(ctx context.Context, hc *http.Client, userinfoURL, accessToken, sub string, verify func(ctx context.Context, jwt string) (map[string]any, error)) (*UserInfoResponse, error) {
	if strings.TrimSpace(accessToken) == "" {
		return nil, validationError(0, "Access token is required for fetching userinfo", nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, userinfoURL, nil)
	if err != nil {
		return nil, requestError(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json, application/jwt")
	resp, err := send(hc, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	switch resp.StatusCode {
	case http.StatusOK:
		body, err := readBody(resp)
		if err != nil {
			return nil, err
		}
		answer := &UserInfoResponse{}
		if mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mediaType == "application/jwt" {
			answer.Signed = true
			answer.Claims, err = verify(ctx, strings.TrimSpace(string(body)))
		} else if answer.Claims, err = decodeObject[any](body); err != nil {
			err = parseError(resp.StatusCode, err)
		}
		if err != nil {
			return nil, err
		}
		if got, _ := answer.Claims["sub"].(string); sub != "" && got != sub {
			return nil, &Error{Kind: KindHTTP, StatusCode: resp.StatusCode, Message: "userinfo sub does not match the ID token sub"}
		}
		return answer, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		// RFC 6750 section 3.1: 403 is insufficient_scope.
		code, description := "userinfo_failed", "Userinfo authentication error"
		if resp.StatusCode == http.StatusForbidden {
			code, description = "insufficient_scope", "The access token does not allow reading userinfo"
		}
		if challenge := resp.Header.Get("WWW-Authenticate"); challenge != "" || resp.StatusCode == http.StatusForbidden {
			params := challengeParams(challenge)
			refusal := oauthError(resp.StatusCode, cmp.Or(params["error"], code), cmp.Or(params["error_description"], description))
			refusal.Kind = KindRefused
			return nil, refusal.withAnswer(resp.Header, peekBody(resp))
		}
	}
	return nil, unexpectedStatus("Error while fetching userinfo", resp.StatusCode).withAnswer(resp.Header, peekBody(resp))
}

// challengeParams returns the auth-params of the first challenge in a
// WWW-Authenticate field value (RFC 9110 section 11.6.1), keyed by their
// lower-cased names. It stops at the end of that challenge or at the first
// malformed parameter, keeping those parsed so far.
func challengeParams(challenge string) map[string]string {
	params := make(map[string]string)
	_, s, _ := strings.Cut(strings.TrimLeft(challenge, " \t"), " ") // skip the auth-scheme
	for {
		s = strings.TrimLeft(s, " \t,")
		n := tokenLen(s)
		if n == 0 {
			return params
		}
		name := s[:n]
		s = strings.TrimLeft(s[n:], " \t")
		if !strings.HasPrefix(s, "=") { // a token68 or the next challenge's auth-scheme
			return params
		}
		s = strings.TrimLeft(s[1:], " \t")
		var value string
		if strings.HasPrefix(s, `"`) {
			var ok bool
			if value, s, ok = quotedString(s); !ok {
				return params
			}
		} else {
			n := tokenLen(s)
			value, s = s[:n], s[n:]
		}
		params[strings.ToLower(name)] = value
	}
}

// tokenLen returns the length of the token (RFC 9110 section 5.6.2) that
// begins s.
func tokenLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return i
		}
	}
	return len(s)
}

// quotedString unquotes the quoted-string (RFC 9110 section 5.6.4) that
// begins s and returns it with the rest of s. ok is false if it is not
// terminated.
func quotedString(s string) (value, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:], true
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}
