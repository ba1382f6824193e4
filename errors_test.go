package monocloud

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

// TestSentinelErrors: each sentinel matches itself through wrapping, is a
// *ValidationError, and matches no other sentinel.
func TestSentinelErrors(t *testing.T) {
	sentinels := map[string]error{
		"ErrNoSession":            ErrNoSession,
		"ErrNoRefreshToken":       ErrNoRefreshToken,
		"ErrResourceNotRequested": ErrResourceNotRequested,
		"ErrInvalidState":         ErrInvalidState,
	}
	for name, sentinel := range sentinels {
		wrapped := fmt.Errorf("handler: %w", sentinel)
		var ve *ValidationError
		if !errors.Is(wrapped, sentinel) || !errors.As(wrapped, &ve) || ve.Message == "" {
			t.Errorf("%s: errors.Is %v, errors.As %v", name, errors.Is(wrapped, sentinel), ve)
		}
		for other, o := range sentinels {
			if other != name && errors.Is(wrapped, o) {
				t.Errorf("%s matches %s", name, other)
			}
		}
	}
}

// TestErrorsCarryTheAnswer: errors built from the provider's answer carry
// it (Raw: status, header without Set-Cookie, the start of the body), and
// token errors a Code, as the SDK's since 0.2.5.
func TestErrorsCarryTheAnswer(t *testing.T) {
	t.Run("token endpoint refusal", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.op.SetTokenFault(monocloudtest.Fault{Status: http.StatusBadRequest, Body: `{"error":"invalid_grant","error_description":"gone"}`})
		_, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
		oe := asError[*OPError](t, err)
		if oe.Raw == nil || oe.Raw.StatusCode != http.StatusBadRequest || !strings.Contains(string(oe.Raw.Body), "gone") || oe.Raw.Header.Get("Content-Type") == "" {
			t.Errorf("OPError.Raw %+v", oe.Raw)
		}
	})
	t.Run("token endpoint failure", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.op.SetTokenFault(monocloudtest.Fault{Status: http.StatusInternalServerError, Body: strings.Repeat("x", 10<<10)})
		_, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
		he := asError[*HTTPError](t, err)
		if he.Raw == nil || he.Raw.StatusCode != http.StatusInternalServerError || len(he.Raw.Body) != 4<<10 {
			t.Errorf("HTTPError.Raw status %v, body of %d bytes; want 500 and 4 KiB", he.Raw, len(he.Raw.Body))
		}
	})
	t.Run("userinfo 403 is insufficient_scope", func(t *testing.T) {
		rec := &errRecorder{}
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{OnError: rec.hook}})
		app.signIn("")
		app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusForbidden})
		app.get("/api/auth/userinfo?refresh")
		var te *TokenError
		if !errors.As(rec.last(), &te) || te.Code != CodeInsufficientScope || te.Raw == nil || te.Raw.StatusCode != http.StatusForbidden {
			t.Errorf("error %#v, want a *TokenError insufficient_scope with the answer", rec.last())
		}
	})
	t.Run("an ID token that fails validation is invalid_token", func(t *testing.T) {
		rec := &errRecorder{}
		app := newTestApp(t, appConfig{opts: Options{OnError: rec.hook}})
		app.op.SetIDTokenEdit(func(claims map[string]any) { claims["aud"] = "another-client" })
		app.signInVia("/api/auth/signin")
		var te *TokenError
		if !errors.As(rec.last(), &te) || te.Code != CodeInvalidToken || te.Raw != nil {
			t.Errorf("error %#v, want a *TokenError invalid_token", rec.last())
		}
	})
}

// TestErrorTextNamesThePackageOnce: errors wrapping errors of the package
// read "monocloud: a: b", not "monocloud: a: monocloud: b", and still match
// what they wrap.
func TestErrorTextNamesThePackageOnce(t *testing.T) {
	fetch := &HTTPError{Message: "Error while fetching JWKS. Unexpected status code: 502", StatusCode: 502}
	unavailable := providerUnavailable(fetch)
	var he *HTTPError
	for name, err := range map[string]error{
		"provider unavailable": unavailable,
		"token error":          &TokenError{Code: CodeInvalidToken, Message: "ID token verification failed", Err: unavailable},
		"store error":          &StoreError{Op: "reading the session", Err: &ValidationError{Message: "broken"}},
	} {
		if n := strings.Count(err.Error(), "monocloud:"); n != 1 {
			t.Errorf("%s: %q names the package %d times, want 1", name, err, n)
		}
	}
	if !errors.Is(unavailable, ErrProviderUnavailable) || !errors.As(unavailable, &he) || he != fetch {
		t.Errorf("%v does not match ErrProviderUnavailable and its cause", unavailable)
	}
	if want := "monocloud: OpenID provider unavailable: Error while fetching JWKS. Unexpected status code: 502"; unavailable.Error() != want {
		t.Errorf("text %q, want %q", unavailable, want)
	}
}
