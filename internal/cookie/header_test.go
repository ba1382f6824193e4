package cookie

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	value := strings.Repeat("A-z_0", 500) + "=="
	for _, tc := range []struct {
		name        string
		lines       []string
		wantSingle  string
		wantChunked string
		wantFamily  []string
	}{
		{"no header", nil, "", "", nil},
		{"no family", []string{"a=1; sessionx=2; session_0=3; xsession=4"}, "", "", nil},
		{"single among others", []string{"a=1; session=" + value + "; b=2"}, value, "", []string{"session"}},
		{"chunks over lines", []string{"session.1=b; a=1", "session.0=a"}, "", "ab", []string{"session.0", "session.1"}},
		{"both forms", []string{"session.0=a;session=v;session.1=b"}, "v", "ab", []string{"session", "session.0", "session.1"}},
		{"first non-empty single", []string{"session=; session=v; session=w"}, "v", "", []string{"session"}},
		{"whitespace", []string{" \t session \t= v \t;\r\n session.0 =a"}, " v", "a", []string{"session", "session.0"}},
		{"quoted", []string{`session="v"; session.0=""; session.1="`}, "v", "", []string{"session", "session.0", "session.1"}},
		{"no equals sign", []string{"session; session.0"}, "", "", []string{"session", "session.0"}},
		{"name not a token", []string{"session.a b=x; session.[=y; session=v"}, "v", "", []string{"session"}},
		{"broken chunks", []string{"session.0=a; session.2=c"}, "", "", []string{"session.0", "session.2"}},
		// r.Cookies drops these values for their bytes; Find leaves them
		// to the decoder.
		{"invalid value bytes", []string{`session=a\b; session.0=a"b; session.1=é`}, `a\b`, `a"bé`, []string{"session", "session.0", "session.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			single, chunked, family := Find(tc.lines, "session")
			if single != tc.wantSingle || chunked != tc.wantChunked {
				t.Errorf("single %q, chunked %q; want %q, %q", single, chunked, tc.wantSingle, tc.wantChunked)
			}
			if !reflect.DeepEqual(family, tc.wantFamily) {
				t.Errorf("family %q, want %q", family, tc.wantFamily)
			}
		})
	}
}

// BenchmarkFind compares Find with Join over r.Cookies, which it replaces
// on the request path, for a session cookie beside a few others.
func BenchmarkFind(b *testing.B) {
	header := http.Header{"Cookie": {"_ga=GA1.1.1234567890.1700000000; theme=dark; session=" + strings.Repeat("A-z_0", 500) + "==; lang=en"}}
	b.Run("Find", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if single, _, _ := Find(header["Cookie"], "session"); single == "" {
				b.Fatal("no session")
			}
		}
	})
	b.Run("Join(r.Cookies())", func(b *testing.B) {
		r := &http.Request{Header: header}
		b.ReportAllocs()
		for b.Loop() {
			if single, _, _ := Join(r.Cookies(), "session"); single == "" {
				b.Fatal("no session")
			}
		}
	})
}

// TestFindFamilyIsBounded: the family holds only the names Split writes,
// however many other name.<x> cookies the header holds, so the caller
// never expires more than MaxChunks+1 cookies.
func TestFindFamilyIsBounded(t *testing.T) {
	var b strings.Builder
	for i := range 32000 {
		fmt.Fprintf(&b, "session.x%d=v; session.%d=; ", i, i%(2*MaxChunks))
	}
	b.WriteString("session=v")
	single, chunked, family := Find([]string{b.String()}, "session")
	if single != "v" || chunked != "" {
		t.Errorf("single %q, chunked %q; want %q, no chunks", single, chunked, "v")
	}
	if len(family) != MaxChunks+1 {
		t.Errorf("family of %d names %q, want session and session.0 to session.%d", len(family), family, MaxChunks-1)
	}
}
