package returnurl

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// hostile lists return URLs an attacker might send, with what Resolve must
// make of them against https://example.org ("" for a refusal).
var hostile = []struct{ raw, want string }{
	// Protocol-relative and backslash forms, which browsers read as another host.
	{"//evil.com", ""},
	{"///evil.com", ""},
	{"////evil.com", ""},
	{`/\evil.com`, ""},
	{`\\evil.com`, ""},
	{`/\/evil.com`, ""},
	{`\/evil.com`, ""},
	{`/x\y`, ""},
	{"//%65vil.com", ""},
	{"//evil.com/%2e%2e", ""},
	{"//example.org/x", ""},
	// Percent-encoded slashes and backslashes.
	{"%2F%2Fevil.com", ""},
	{"/%2F%2Fevil.com", ""},
	{"/%2F/evil.com", ""},
	{"/%5Cevil.com", ""},
	{"/%5C/evil.com", ""},
	{"/%252F%252Fevil.com", "https://example.org/%252F%252Fevil.com"}, // decoded once only
	// Dot segments, which browsers remove.
	{"/..//evil.com", ""},
	{"/.//evil.com", ""},
	{"/%2e%2e//evil.com", ""},
	{"/a/%2E%2E/%2E%2E//evil.com", ""},
	{"/a/..", ""},
	// Other hosts, schemes, ports and userinfo.
	{"http://evil.com", ""},
	{"https://evil.com/", ""},
	{"https:evil.com", ""},
	{"http:/evil.com", ""},
	{`https:/\evil.com`, ""},
	{"https:///evil.com", ""},
	{"https://example.org.evil.com", ""},
	{"https://example.org./x", ""},
	{"https://example.org@evil.com", ""},
	{"https://evil.com@example.org", ""},
	{"https://example.org:443@evil.com", ""},
	{"https://user:pass@example.org/x", ""},
	{"https://example.org%2f@evil.com", ""},
	{`https://example.org\@evil.com`, ""},
	{"https://evil.com#@example.org", ""},
	{"https://evil.com?@example.org", ""},
	{"https://%65xample.org/", ""},
	{"https://exаmple.org", ""},   // Cyrillic а
	{"https://еxample.org/x", ""}, // Cyrillic е
	{"https://example.org:444/x", ""},
	{"https://example.org:80/x", ""},
	{"http://example.org/x", ""},
	{"ftp://example.org/x", ""},
	{"ws://example.org/x", ""},
	{"https://[::1]/x", ""},
	{"https://example.org//evil.com", ""},
	{"javascript:alert(1)", ""},
	{"JaVaScRiPt:alert(1)", ""},
	{"javascript://example.org/%0aalert(1)", ""},
	{"data:text/html,x", ""},
	{"vbscript:x", ""},
	{"mailto:a@example.org", ""},
	// White space and control characters, raw or percent-encoded.
	{" /x", ""},
	{"/x ", ""},
	{"/a b", ""},
	{"\t//evil.com", ""},
	{"/\t/evil.com", ""},
	{"/\n/evil.com", ""},
	{"/\r\n/evil.com", ""},
	{"\x00//evil.com", ""},
	{"/\x7f", ""},
	{"/\u0085/evil.com", ""},
	{"/\u00a0/evil.com", ""},
	{"/\u2028/evil.com", ""},
	{"/\u3000/evil.com", ""},
	{"/%09/evil.com", ""},
	{"/%0a/evil.com", ""},
	{"/%0D%0ASet-Cookie:x", ""},
	{"/%00/x", ""},
	{"/%20/evil.com", ""},
	{"/%C2%A0", ""},
	// Malformed percent-encoding or UTF-8.
	{"/%zz", ""},
	{"/%", ""},
	{"/x?%zz", ""},
	{"/x?q=%", ""},
	{"/x?a b", ""},
	{`/x?a\b`, ""},
	{"/x?\u2028", ""},
	{"/x?\xff", ""},
	{"/x#a b", ""},
	{"/x#\u00a0", ""},
	{"/x#%zz", ""},
	{"/\xff", ""},
	{"/%ff", ""},
	// Relative references without a leading slash.
	{"test", ""},
	{"evil.com", ""},
	{"?next=//evil.com", ""},
	{"#//evil.com", ""},
	{".//evil.com", ""},
	// On-origin values that look odd but are harmless.
	{"HTTPS://EXAMPLE.ORG/ok", "https://example.org/ok"},
	{"https://EXAMPLE.org:443/x", "https://example.org/x"},
	{"/;//evil.com", "https://example.org/;//evil.com"},
	{"/x?next=//evil.com", "https://example.org/x?next=//evil.com"},
	{"/x#//evil.com", "https://example.org/x#//evil.com"},
	{"/x?a=%0d%0a", "https://example.org/x?a=%0d%0a"},
	{"/x#%0d%0a", "https://example.org/x#%0d%0a"},
}

func TestResolveHostile(t *testing.T) {
	app := mustParse(t, "https://example.org")
	for _, tt := range hostile {
		got, ok := Resolve(app, tt.raw)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.raw, got, ok, tt.want)
		}
		if ok {
			assertOnOrigin(t, app, got)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct{ app, raw, want string }{
		{"https://example.org", "/", "https://example.org/"},
		{"https://example.org", "/a/b?x=1#frag", "https://example.org/a/b?x=1#frag"},
		{"https://example.org", "/a%2Fb?q=%20#f%20g", "https://example.org/a%2Fb?q=%20#f%20g"},
		{"https://example.org", "/café", "https://example.org/caf%C3%A9"},
		{"https://example.org", "/x?", "https://example.org/x?"},
		{"https://example.org", "/x#a%2Fb", "https://example.org/x#a%2Fb"},
		{"https://example.org", "https://example.org/x", "https://example.org/x"},
		{"https://example.org", "https://example.org", "https://example.org"},
		{"https://example.org", "https://example.org?x=1", "https://example.org?x=1"},
		{"https://example.org/basepath", "/test", "https://example.org/basepath/test"},
		{"https://example.org/basepath", "/", "https://example.org/basepath/"},
		{"https://example.org/basepath/", "/test?a=b", "https://example.org/basepath/test?a=b"},
		{"https://example.org/basepath", "/%2F%2Fevil.com", ""},
		{"https://example.org/basepath", "//evil.com", ""},
		{"https://example.org/basepath", "/..//evil.com", ""},
		{"https://example.org//base", "/x", ""}, // the result's path would begin with "//"
		{"https://example.org/base%2Fpath", "/a%2Fb", "https://example.org/base%2Fpath/a%2Fb"},
		{"https://example.org/basepath", "https://example.org/other", "https://example.org/other"},
		{"https://example.org:443", "https://example.org/x", "https://example.org:443/x"},
		{"http://localhost:3000", "/x", "http://localhost:3000/x"},
		{"http://localhost:3000", "http://LOCALHOST:3000/y", "http://localhost:3000/y"},
		{"http://localhost:3000", "http://localhost/y", ""},
		{"http://example.org", "http://example.org:80/y", "http://example.org/y"},
		{"http://example.org", "https://example.org/y", ""},
		{"http://[::1]:8080", "http://[::1]:8080/x", "http://[::1]:8080/x"},
		{"https://kernel.org", "https://\u212Aernel.org/x", ""}, // KELVIN SIGN folds to "k" in Unicode
		{"https://example.org", "", ""},
	}
	for _, tt := range tests {
		app := mustParse(t, tt.app)
		got, ok := Resolve(app, tt.raw)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q", tt.app, tt.raw, got, ok, tt.want)
		}
		if ok {
			assertOnOrigin(t, app, got)
		}
	}
}

func TestResolveBadAppURL(t *testing.T) {
	apps := []*url.URL{
		nil,
		mustParse(t, "/basepath"),
		mustParse(t, "//example.org"),
		mustParse(t, "ftp://example.org"),
		mustParse(t, "https:example.org"),
		mustParse(t, "https://"),
		mustParse(t, "https://:443"),
		{Scheme: "https", Host: "evil.com@example.org"}, // not from url.Parse; String does not round-trip
	}
	for _, app := range apps {
		if got, ok := Resolve(app, "/x"); ok {
			t.Errorf("Resolve(%v, %q) = %q, true; want false", app, "/x", got)
		}
	}
}

func FuzzResolve(f *testing.F) {
	for _, tt := range hostile {
		f.Add(tt.raw)
	}
	for _, raw := range []string{"/", "/a/b?x=1#frag", "https://example.org/x", "/%41%2f", "/x?y#z"} {
		f.Add(raw)
	}
	apps := []*url.URL{
		mustParse(f, "https://example.org"),
		mustParse(f, "https://example.org/basepath"),
		mustParse(f, "http://localhost:3000/"),
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, app := range apps {
			got, ok := Resolve(app, raw)
			if !ok {
				if got != "" {
					t.Fatalf("Resolve(%v, %q) = %q, false; want an empty string", app, raw, got)
				}
				continue
			}
			assertOnOrigin(t, app, got)
			// The result is a fixed point.
			if again, ok := Resolve(app, got); again != got || !ok {
				t.Fatalf("Resolve(%v, %q) = %q, %v; want %q, true", app, got, again, ok, got)
			}
		}
	})
}

// assertOnOrigin fails t unless out is free of backslashes, control
// characters and white space, parses with exactly app's scheme and host
// and no userinfo, has a path not beginning with "//", and stays on app's
// origin when http.Redirect puts it in a Location header.
func assertOnOrigin(t testing.TB, app *url.URL, out string) {
	t.Helper()
	if strings.ContainsFunc(out, func(r rune) bool {
		return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r)
	}) {
		t.Fatalf("%q contains a backslash, a control character or white space", out)
	}
	u, err := url.Parse(out)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", out, err)
	}
	if u.Scheme != app.Scheme || u.Host != app.Host || u.User != nil || u.Opaque != "" {
		t.Fatalf("%q is not on the origin of %v", out, app)
	}
	if strings.HasPrefix(u.Path, "//") {
		t.Fatalf("%q has a path beginning with //", out)
	}

	rec := httptest.NewRecorder()
	http.Redirect(rec, httptest.NewRequest(http.MethodGet, app.JoinPath("/signin").String(), nil), out, http.StatusFound)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", rec.Header().Get("Location"), err)
	}
	if abs := app.ResolveReference(loc); abs.Scheme != app.Scheme || abs.Host != app.Host || abs.User != nil {
		t.Fatalf("http.Redirect to %q sends the browser to %v", out, abs)
	}
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
