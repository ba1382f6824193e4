package cookie

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fuzzSeeds are small payloads, so that the fuzzer minimizes inputs
// quickly: the binary encodings of a tiny session and of nothing.
func fuzzSeeds(tb testing.TB) []testBlob {
	tb.Helper()
	enc := base64.RawURLEncoding
	token := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc.EncodeToString([]byte(`{"sub":"1234","email":"j@example.com"}`)) + "." +
		enc.EncodeToString(randomBytes(tb, 32))
	s := testSession{Key: "k", Session: testSessionData{
		User:    map[string]any{"sub": "1234", "email": "j@example.com"},
		IDToken: token,
	}}
	p, err := s.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return []testBlob{{}, testBlob("v"), p}
}

func FuzzDecode(f *testing.F) {
	// The secret is fixed so that corpus entries stay meaningful.
	c := newTestCodec(f, 0, testSecret)
	for _, v := range fuzzSeeds(f) {
		s, err := c.Encode("session", v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Add("")
	f.Fuzz(func(t *testing.T, value string) {
		var v testSession
		stale, err := c.Decode("session", value, &v)
		if err != nil && (!errors.Is(err, ErrInvalid) || stale) {
			t.Errorf("Decode = stale %t, error %v; want false, an ErrInvalid", stale, err)
		}
	})
}

// FuzzDeserialize checks that Deserialize never panics, bounds what it
// decompresses, and returns what Serialize was given.
func FuzzDeserialize(f *testing.F) {
	for _, v := range fuzzSeeds(f) {
		data, err := binarySerializer{}.Serialize(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v testBlob
		if err := (binarySerializer{}).Deserialize(data, &v); err != nil {
			if !errors.Is(err, errMalformed) {
				t.Errorf("Deserialize error %v, want errMalformed", err)
			}
			return
		}
		if len(v) > maxPayload {
			t.Errorf("Deserialize made %d bytes, more than %d", len(v), maxPayload)
		}
		again, err := binarySerializer{}.Serialize(v)
		if err != nil {
			t.Fatal(err)
		}
		var w testBlob
		if err := (binarySerializer{}).Deserialize(again, &w); err != nil || !bytes.Equal(v, w) {
			t.Errorf("re-serialized %x decodes as %x, %v", v, w, err)
		}
	})
}

// FuzzJoin takes cookies as "name=value" lines.
func FuzzJoin(f *testing.F) {
	f.Add("session", "session=v")
	f.Add("session", "session.0=a\nsession.1=b\nother=c")
	f.Add("session", "session.1=b\nsession.0=a\nsession=")
	f.Add("session", "session.01=a\nsession.=b\nsession.0=c\nsession.0=d")
	f.Add("a.b", "a.b.0=x\na.b.1=y\na.b=\na=z")
	f.Fuzz(func(t *testing.T, name, lines string) {
		var cookies []*http.Cookie
		for line := range strings.Lines(lines) {
			n, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
			cookies = append(cookies, &http.Cookie{Name: n, Value: v})
		}
		single, chunked, family := Join(cookies, name)
		for i, n := range family {
			if n != name && !strings.HasPrefix(n, name+".") {
				t.Errorf("family member %q is not %q or %q.*", n, name, name)
			}
			if i > 0 && family[i-1] >= n {
				t.Errorf("family %q is not sorted and distinct", family)
			}
		}
		if single != "" && !isJoinOf(single, cookies, name) {
			t.Errorf("single %q is neither a cookie called %q nor its chunks", single, name)
		}
		if chunked != "" && !isJoinOf(chunked, cookies, name) {
			t.Errorf("chunked %q is neither a cookie called %q nor its chunks", chunked, name)
		}
		// Whatever the value, Split and Join must agree on it.
		split, err := Split(name, lines, Attributes{Path: "/"})
		if err != nil {
			return
		}
		if single, chunked, _ := Join(split, name); single+chunked != lines {
			t.Errorf("Join(Split(%q)) = %q, %q", lines, single, chunked)
		}
	})
}

// FuzzFind checks Find against Join(r.Cookies()) on Cookie header lines,
// given as one string with a newline between lines. Where r.Cookies drops
// a cookie (a name that is not a token, an invalid byte in a value), Find
// may differ, but stays within the family.
func FuzzFind(f *testing.F) {
	f.Add("session", "a=1; session=v; b=2")
	f.Add("session", "session.1=b; a=1\nsession.0=a")
	f.Add("session", " session = \"v\" ;\tsession.0=a;session.1=;session.x y=z")
	f.Add("session", "session=a\\b; session.0=a\"b; session.01=c; session.=d")
	f.Add("a.b", "a.b.0=x; a.b.1=y; a.b=; a=z")
	f.Fuzz(func(t *testing.T, name, header string) {
		lines := strings.Split(header, "\n")
		single, chunked, family := Find(lines, name)
		cookies := (&http.Request{Header: http.Header{"Cookie": lines}}).Cookies()
		wellFormed := (&http.Cookie{Name: name}).Valid() == nil
		parts := 0
		for _, line := range lines {
			for part := range strings.SplitSeq(line, ";") {
				if strings.Trim(part, " \t\r\n") != "" {
					parts++
				}
			}
		}
		if wellFormed && parts == len(cookies) {
			wantSingle, wantChunked, wantFamily := Join(cookies, name)
			if single != wantSingle || chunked != wantChunked || !slices.Equal(family, wantFamily) {
				t.Errorf("Find = %q, %q, %q; Join(r.Cookies()) = %q, %q, %q", single, chunked, family, wantSingle, wantChunked, wantFamily)
			}
		}
		for i, n := range family {
			if n != name && !strings.HasPrefix(n, name+".") {
				t.Errorf("family member %q is not %q or %q.*", n, name, name)
			}
			if i > 0 && family[i-1] >= n {
				t.Errorf("family %q is not sorted and distinct", family)
			}
		}
		if !strings.Contains(header, single) {
			t.Errorf("single %q is not in the header", single)
		}
	})
}

// isJoinOf reports whether value is the value of a cookie called name, or
// the concatenation of the values of cookies called name.0, name.1, ….
func isJoinOf(value string, cookies []*http.Cookie, name string) bool {
	byName := make(map[string]string)
	for _, c := range cookies {
		if c.Name == name && c.Value == value {
			return true
		}
		byName[c.Name] = c.Value
	}
	var chunks strings.Builder
	for i := range MaxChunks {
		v, ok := byName[name+"."+strconv.Itoa(i)]
		if !ok {
			break
		}
		chunks.WriteString(v)
	}
	return chunks.String() == value
}
