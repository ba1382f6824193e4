package cookie

import (
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	minimalAttributes = Attributes{}
	maximalAttributes = Attributes{
		Path:     "/" + strings.Repeat("p", 200),
		Domain:   strings.Repeat("sub.", 40) + "example.com",
		HTTPOnly: true,
		Secure:   true,
		SameSite: http.SameSiteNoneMode,
		Expires:  time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC),
		MaxAge:   1 << 30,
	}
)

// Join is Find for parsed cookies: it returns what Find returns for a
// request carrying cookies, without the parsing.
func Join(cookies []*http.Cookie, name string) (single, chunked string, family []string) {
	j := joiner{name: name, last: -1}
	for _, c := range cookies {
		j.add(c.Name, c.Value)
	}
	return j.result()
}

// wantCookie returns the cookie called name holding value with attributes a.
func wantCookie(name, value string, a Attributes) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     a.Path,
		Domain:   a.Domain,
		Expires:  a.Expires,
		MaxAge:   a.MaxAge,
		Secure:   a.Secure,
		HttpOnly: a.HTTPOnly,
		SameSite: a.SameSite,
	}
}

// chunkSize is the value bytes Split puts in each cookie.
func chunkSize(name string, a Attributes) int {
	return chunkBudget - len(wantCookie(name+".0", "", a).String())
}

func TestSplit(t *testing.T) {
	for _, a := range []Attributes{minimalAttributes, maximalAttributes} {
		size := chunkSize("session", a)
		for _, tc := range []struct {
			name        string
			value       string
			wantCookies int
		}{
			{"empty", "", 1},
			{"one byte", "x", 1},
			{"one full cookie", strings.Repeat("a", size), 1},
			{"one byte more", strings.Repeat("a", size+1), 2},
			{"spaces and commas", strings.Repeat("a ,", size), 3},
			{"most chunks", strings.Repeat("b", MaxChunks*size), MaxChunks},
		} {
			t.Run(tc.name+"/"+strconv.Itoa(size), func(t *testing.T) {
				cookies, err := Split("session", tc.value, a)
				if err != nil {
					t.Fatal(err)
				}
				if len(cookies) != tc.wantCookies {
					t.Fatalf("Split returned %d cookies, want %d", len(cookies), tc.wantCookies)
				}
				for i, c := range cookies {
					wantName := "session"
					if len(cookies) > 1 {
						wantName = "session." + strconv.Itoa(i)
					}
					if c.Name != wantName {
						t.Errorf("cookie %d is called %q, want %q", i, c.Name, wantName)
					}
					if want := wantCookie(wantName, c.Value, a); !reflect.DeepEqual(c, want) {
						t.Errorf("cookie %d is %+v, want %+v", i, c, want)
					}
					if n := len(c.String()); n > MaxSize {
						t.Errorf("cookie %d: Set-Cookie of %d bytes, want at most %d", i, n, MaxSize)
					}
					if n := len(c.Name) + len(c.Value); n > MaxSize {
						t.Errorf("cookie %d: name and value of %d bytes, want at most %d", i, n, MaxSize)
					}
				}
				single, chunked, _ := Join(cookies, "session")
				if got := single + chunked; got != tc.value {
					t.Errorf("Join(Split(value)) is %d bytes, want the %d of value", len(got), len(tc.value))
				}
			})
		}
	}
}

func TestSplitErrors(t *testing.T) {
	size := chunkSize("session", minimalAttributes)
	for _, tc := range []struct {
		name, cookie, value string
		a                   Attributes
		wantTooLarge        bool
	}{
		{"too many chunks", "session", strings.Repeat("a", MaxChunks*size+1), minimalAttributes, true},
		{"attributes leave no room", "session", "v", Attributes{Path: "/" + strings.Repeat("p", 4096)}, true},
		{"empty name", "", "v", minimalAttributes, false},
		{"invalid name", "my session", "v", minimalAttributes, false},
		{"invalid value", "session", `a;b`, minimalAttributes, false},
		{"invalid domain", "session", "v", Attributes{Domain: "exa mple.com"}, false},
		{"invalid path", "session", "v", Attributes{Path: "/a;b"}, false},
		{"invalid expiry", "session", "v", Attributes{Expires: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cookies, err := Split(tc.cookie, tc.value, tc.a)
			if err == nil || errors.Is(err, ErrTooLarge) != tc.wantTooLarge {
				t.Errorf("Split = %d cookies, error %v; want error, ErrTooLarge %t", len(cookies), err, tc.wantTooLarge)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	cookies := func(pairs ...string) []*http.Cookie {
		var cs []*http.Cookie
		for i := 0; i < len(pairs); i += 2 {
			cs = append(cs, &http.Cookie{Name: pairs[i], Value: pairs[i+1]})
		}
		return cs
	}
	var all, allNames []string // session.0=0 … session.15=f
	for i := range MaxChunks {
		name := "session." + strconv.Itoa(i)
		all = append(all, name, strconv.FormatInt(int64(i), 16))
		allNames = append(allNames, name)
	}
	slices.Sort(allNames)
	for _, tc := range []struct {
		name        string
		cookies     []*http.Cookie
		wantSingle  string
		wantChunked string
		wantFamily  []string
	}{
		{"none", nil, "", "", nil},
		{"unrelated", cookies("other", "x", "sessionx", "y", "session_0", "z"), "", "", nil},
		{"whole", cookies("other", "x", "session", "v"), "v", "", []string{"session"}},
		{"whole and chunks", cookies("session.0", "a", "session", "v", "session.1", "b"), "v", "ab", []string{"session", "session.0", "session.1"}},
		{"whole and broken chunks", cookies("session.0", "a", "session", "v", "session.2", "c"), "v", "", []string{"session", "session.0", "session.2"}},
		{"first non-empty whole", cookies("session", "", "session", "v", "session", "w"), "v", "", []string{"session"}},
		{"empty whole and chunks", cookies("session", "", "session.0", "a", "session.1", "b"), "", "ab", []string{"session", "session.0", "session.1"}},
		{"chunks", cookies("session.0", "a", "session.1", "b", "session.2", "c"), "", "abc", []string{"session.0", "session.1", "session.2"}},
		{"chunks out of order", cookies("session.2", "c", "session.0", "a", "session.1", "b"), "", "abc", []string{"session.0", "session.1", "session.2"}},
		{"most chunks", cookies(all...), "", "0123456789abcdef", allNames},
		{"gap", cookies("session.0", "a", "session.2", "c"), "", "", []string{"session.0", "session.2"}},
		{"no first chunk", cookies("session.1", "b"), "", "", []string{"session.1"}},
		{"duplicate chunk", cookies("session.0", "a", "session.0", "a", "session.1", "b"), "", "", []string{"session.0", "session.1"}},
		// Only the duplicate check refuses these: the extra chunk makes up
		// for the missing one in the count of chunks.
		{"duplicate chunk filling a gap", cookies("session.0", "a", "session.0", "x", "session.2", "c"), "", "", []string{"session.0", "session.2"}},
		{"duplicate last chunk", cookies("session.0", "a", "session.1", "b", "session.1", "x"), "", "", []string{"session.0", "session.1"}},
		{"empty chunk", cookies("session.0", "a", "session.1", ""), "", "", []string{"session.0", "session.1"}},
		{"word", cookies("session.0", "a", "session.foo", "x"), "", "", []string{"session.0"}},
		{"no index", cookies("session.0", "a", "session.", "x"), "", "", []string{"session.0"}},
		{"negative", cookies("session.0", "a", "session.-1", "x"), "", "", []string{"session.0"}},
		{"plus sign", cookies("session.0", "a", "session.+1", "b"), "", "", []string{"session.0"}},
		{"leading zero", cookies("session.0", "a", "session.01", "b"), "", "", []string{"session.0"}},
		{"two dots", cookies("session.0", "a", "session.0.1", "b"), "", "", []string{"session.0"}},
		{"index MaxChunks", cookies(append(all, "session.16", "g")...), "", "", allNames},
		{"huge index", cookies("session.0", "a", "session.99999999999999999999999", "b"), "", "", []string{"session.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			single, chunked, family := Join(tc.cookies, "session")
			if single != tc.wantSingle || chunked != tc.wantChunked {
				t.Errorf("single %q, chunked %q; want %q, %q", single, chunked, tc.wantSingle, tc.wantChunked)
			}
			if !reflect.DeepEqual(family, tc.wantFamily) {
				t.Errorf("family %q, want %q", family, tc.wantFamily)
			}
		})
	}
}

func TestCheckSize(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		wantErr     bool
	}{
		{"state.x", "", false},
		{"state.x", strings.Repeat("v", MaxSize-len("state.x")-1), false},
		{"state.x", strings.Repeat("v", MaxSize-len("state.x")), false},
		{"state.x", strings.Repeat("v", MaxSize-len("state.x")+1), true},
		{"state.x", strings.Repeat("v", 2*MaxSize), true},
		{strings.Repeat("n", MaxSize+1), "", true},
	} {
		err := CheckSize(tc.name, tc.value)
		if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrTooLarge)) {
			t.Errorf("CheckSize(%d bytes of name and value) = %v, want error %t (ErrTooLarge)", len(tc.name)+len(tc.value), err, tc.wantErr)
		}
	}
}

func TestExpired(t *testing.T) {
	got := Expired("session.3", maximalAttributes)
	want := &http.Cookie{
		Name:     "session.3",
		Path:     maximalAttributes.Path,
		Domain:   maximalAttributes.Domain,
		MaxAge:   -1,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteNoneMode,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Expired = %+v, want %+v", got, want)
	}
	if s := got.String(); !strings.Contains(s, "; Max-Age=0") {
		t.Errorf("Set-Cookie %q lacks Max-Age=0", s)
	}
}
