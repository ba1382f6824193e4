package backend

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		token  string // "" for none
		scheme string
		err    error
	}{
		{"no header", nil, "", "", nil},
		{"empty header", []string{""}, "", "", nil},
		{"bearer", []string{"Bearer abc"}, "abc", schemeBearer, nil},
		{"scheme in any case", []string{"bEaReR abc"}, "abc", schemeBearer, nil},
		{"surrounding whitespace trimmed", []string{"  Bearer abc \t"}, "abc", schemeBearer, nil},
		{"several spaces after the scheme", []string{"Bearer  \t abc"}, "abc", schemeBearer, nil},
		{"another scheme is no token", []string{"Basic dXNlcjpwYXNz"}, "", "", nil},
		{"token68 characters", []string{"Bearer a-b.c_d~e+f/g=="}, "a-b.c_d~e+f/g==", schemeBearer, nil},
		{"DPoP scheme", []string{"DPoP abc"}, "abc", schemeDPoP, nil},
		{"missing token", []string{"Bearer"}, "", "", ErrInvalidRequest},
		{"missing token after spaces", []string{"Bearer   "}, "", "", ErrInvalidRequest},
		{"two tokens", []string{"Bearer abc def"}, "", "", ErrInvalidRequest},
		{"not a token68", []string{"Bearer a,b"}, "", "", ErrInvalidRequest},
		{"padding only", []string{"Bearer ==="}, "", "", ErrInvalidRequest},
		{"padding inside", []string{"Bearer a=b"}, "", "", ErrInvalidRequest},
		{"two headers", []string{"Bearer abc", "Bearer def"}, "", "", ErrInvalidRequest},
		{"too long", []string{"Bearer " + strings.Repeat("a", 65)}, "", "", ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, ok, err := parseAuthorization(tc.values, 64)
			if tc.err != nil {
				if err == nil || !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if ok != (tc.token != "") || cred.token != tc.token || cred.scheme != tc.scheme {
				t.Errorf("got %+v ok=%v, want token %q scheme %q", cred, ok, tc.token, tc.scheme)
			}
		})
	}
}

func TestExtractNeverReadsQueryUnlessAllowed(t *testing.T) {
	f := newFixture(t, nil)
	r := httptest.NewRequest(http.MethodGet, "/items?access_token=abc", nil)
	if _, err := f.c.extract(r); !errors.Is(err, ErrNoToken) {
		t.Errorf("query token read without AllowQueryToken: %v", err)
	}
	g := newFixture(t, func(o *Options) { o.AllowQueryToken = true })
	cred, err := g.c.extract(r)
	if err != nil || cred.token != "abc" {
		t.Errorf("query token with AllowQueryToken: %+v %v", cred, err)
	}
	r.Header.Set("Authorization", "Bearer def")
	if _, err := g.c.extract(r); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("header and query token together: %v, want ErrInvalidRequest", err)
	}
}

func TestExtractCustomExtractor(t *testing.T) {
	for _, tc := range []struct {
		name      string
		extracted string
		fail      bool
		header    string
		want      string
		err       error
	}{
		{"extractor first", " xyz ", false, "Bearer abc", "xyz", nil},
		{"empty falls back to the header", "", false, "Bearer abc", "abc", nil},
		{"whitespace only and no header", "   ", false, "", "", ErrNoToken},
		{"failure is invalid_token", "", true, "Bearer abc", "", ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				o.TokenExtractor = func(*http.Request) (string, error) {
					if tc.fail {
						return "", errors.New("boom")
					}
					return tc.extracted, nil
				}
			})
			r := bearer("")
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			cred, err := f.c.extract(r)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || cred.token != tc.want {
				t.Errorf("got %q, %v; want %q", cred.token, err, tc.want)
			}
		})
	}
}

// token68 is RFC 9110's token68 rule, the reference for isToken68.
var token68 = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)

// TestIsToken68 puts every byte at every position of tokens of 1 to 20
// characters, so that each is read both eight at a time and one by one,
// and with padding after it.
func TestIsToken68(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for pos := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				for _, s := range []string{string(b), string(b) + "=="} {
					if got, want := isToken68(s), token68.MatchString(s); got != want {
						t.Fatalf("isToken68(%q) = %v, want %v", s, got, want)
					}
				}
			}
		}
	}
	for _, s := range []string{"", "=", "==", "a=a", "=a"} {
		if isToken68(s) {
			t.Errorf("isToken68(%q) = true", s)
		}
	}
}

// FuzzParseAuthorization checks that any header value either yields one
// token68 within the cap (a Bearer token of three parts: one within the
// cap, its check deferred), or no token, or a refusal, without panicking.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "DPoP a.b.c", "bearer  x==", "Basic x", "Bearer a b", "", "Bearer", "Bearer \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cred, ok, err := parseAuthorization([]string{v}, 128)
		if err != nil {
			if ok || cred.token != "" {
				t.Fatalf("refusal with a token: %+v", cred)
			}
			return
		}
		if !ok {
			return
		}
		if cred.token68Deferred != (cred.scheme == schemeBearer && isJWT(cred.token)) {
			t.Fatalf("token %q from %q: check deferred %v", cred.token, v, cred.token68Deferred)
		}
		if !cred.token68Deferred && !token68.MatchString(cred.token) || len(cred.token) > 128 || !strings.Contains(v, cred.token) {
			t.Fatalf("token %q from %q", cred.token, v)
		}
		if cred.scheme != schemeBearer && cred.scheme != schemeDPoP {
			t.Fatalf("scheme %q", cred.scheme)
		}
	})
}

// TestToken68CheckDeferred checks that leaving a Bearer JWT's token68
// check to tokenGrant changes no answer: a token of three parts that is
// not a token68 is a malformed request however it comes (Bearer, from the
// query, a DPoP token with or without a proof, to be introspected, after
// its valid form was cached), before the provider is asked, as when
// parseAuthorization checked it, and before a query token beside it makes
// two tokens; a token passed to ValidateAccessToken was never a request's
// and is still only invalid.
func TestToken68CheckDeferred(t *testing.T) {
	yes := true
	f := newFixture(t, func(o *Options) { o.AllowQueryToken = true })
	introspecting := newFixture(t, func(o *Options) { o.IntrospectJWTTokens = &yes })
	valid := f.mint(t, monocloudtest.AccessToken{})
	if a := f.serve(bearer(valid), nil); a.status != 200 { // cached
		t.Fatalf("valid token: status %d", a.status)
	}
	for _, token := range []string{"a,b.c.d", "a.b c.d", "a.b.c\x7f", valid[:len(valid)-1] + "!", "!" + valid, strings.Replace(valid, ".", ".@", 1)} {
		query := httptest.NewRequest(http.MethodGet, "https://api.example.com/items?access_token="+url.QueryEscape(token), nil)
		headerAndQuery := httptest.NewRequest(http.MethodGet, "https://api.example.com/items?access_token="+url.QueryEscape(valid), nil)
		headerAndQuery.Header.Set("Authorization", "Bearer "+token)
		_, err := f.c.ValidateRequest(headerAndQuery, nil)
		if e, ok := errors.AsType[*Error](err); !ok || e.Reason != "malformed_token" || e.Scheme != schemeBearer {
			t.Errorf("%q in the header, a token in the query: %#v, want the header's malformed_token", token, err)
		}
		for name, a := range map[string]answer{
			"Bearer":                f.serve(bearer(token), nil),
			"query":                 f.serve(query, nil),
			"DPoP without a proof":  f.serve(dpopRequest(http.MethodGet, token, ""), nil),
			"DPoP with a proof":     f.serve(dpopRequest(http.MethodGet, token, "x.y.z"), nil),
			"Bearer, introspecting": introspecting.serve(bearer(token), nil),
		} {
			if a.status != 400 || !challengeHas(a.challenge, `error="invalid_request"`) {
				t.Errorf("%q, %s: status %d, challenges %q; want 400 invalid_request", token, name, a.status, a.challenge)
			}
		}
		_, err = f.c.ValidateAccessToken(t.Context(), token, nil)
		if e, ok := errors.AsType[*Error](err); !ok || e.Code != ErrInvalidToken {
			t.Errorf("%q, ValidateAccessToken: %v, want ErrInvalidToken", token, err)
		}
	}
	if n := introspecting.op.IntrospectionRequests(); n != 0 {
		t.Errorf("%d introspections of malformed tokens", n)
	}
}
