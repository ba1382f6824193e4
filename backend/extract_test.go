package backend

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
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
// token68 within the cap, or no token, or a refusal, without panicking.
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
		if !token68.MatchString(cred.token) || len(cred.token) > 128 || !strings.Contains(v, cred.token) {
			t.Fatalf("token %q from %q", cred.token, v)
		}
		if cred.scheme != schemeBearer && cred.scheme != schemeDPoP {
			t.Fatalf("scheme %q", cred.scheme)
		}
	})
}
