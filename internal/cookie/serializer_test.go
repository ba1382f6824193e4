package cookie

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestAppendToken(t *testing.T) {
	const (
		h = "eyJhbGciOiJIUzI1NiJ9" // {"alg":"HS256"}
		p = "eyJhIjoxfQ"           // {"a":1}
		s = "c2ln"                 // sig
	)
	for _, tc := range []struct {
		name string
		in   string
		want []string // decoded segments; nil: not a token
	}{
		{"token", h + "." + p + "." + s, []string{`{"alg":"HS256"}`, `{"a":1}`, "sig"}},
		{"empty payload and signature", h + "..", []string{`{"alg":"HS256"}`, "", ""}},
		{"one segment", h, nil},
		{"two segments", h + "." + p, nil},
		{"four segments", h + "." + p + "." + s + "." + s, nil},
		{"header not JSON", "eyI." + p + "." + s, nil},
		{"lowercase prefix", "eyj" + h[3:] + "." + p + "." + s, nil},
		{"padding bits set", h + ".eyJhIjoxfR." + s, nil},
		{"padded", h + "=." + p + "." + s, nil},
		{"standard alphabet", h + "." + p + ".c2l+", nil},
		{"impossible length", h + "." + p + ".c2lnc", nil},
		{"JSON escape", h + "." + p + `.c2\nln`, nil},
		{"line break", h + "." + p + ".c2\nln", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("keep")
			got, ok := appendToken(prefix, []byte(tc.in))
			if ok != (tc.want != nil) {
				t.Fatalf("appendToken(%q) ok = %t, want %t", tc.in, ok, tc.want != nil)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("appendToken changed dst to %q", got)
			}
			rest := got[len(prefix):]
			var segs []string
			for len(rest) > 0 {
				seg, r, err := nextSegment(rest)
				if err != nil {
					t.Fatal(err)
				}
				segs, rest = append(segs, string(seg)), r
			}
			if strings.Join(segs, "|") != strings.Join(tc.want, "|") {
				t.Errorf("appended segments %q, want %q", segs, tc.want)
			}
		})
	}
}

func TestPackUnpack(t *testing.T) {
	session, sessionJSON := newSession(t)
	for _, tc := range []struct {
		name       string
		js         string
		wantTokens int
	}{
		{"no strings", `[1,true,null,{}]`, 0},
		{"session", string(sessionJSON), 2},
		{"token", `{"t":"` + session.Session.IDToken + `"}`, 1},
		{"token as key", `{"` + session.Session.IDToken + `":1}`, 1},
		{"adjacent tokens", `["` + session.Session.IDToken + `","` + session.Session.IDToken + `"]`, 2},
		{"escaped quote before token", `["\"","` + session.Session.IDToken + `"]`, 1},
		{"marker", `["\u0000","` + session.Session.IDToken + `"]`, 0},
		{"escaped marker text", `["\\u0000","` + session.Session.IDToken + `"]`, 0},
		{"empty", ``, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pack([]byte(tc.js))
			if n := tokenCount(t, p); n != tc.wantTokens {
				t.Errorf("pack extracted %d tokens, want %d", n, tc.wantTokens)
			}
			got, err := unpack(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.js {
				t.Errorf("unpack(pack(js)) = %s, want %s", got, tc.js)
			}
		})
	}
}

// tokenCount returns the number of tokens in payload p.
func tokenCount(tb testing.TB, p []byte) int {
	tb.Helper()
	_, rest, err := nextSegment(p[1:])
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for ; len(rest) > 0; n++ {
		if _, rest, err = nextSegment(rest); err != nil {
			tb.Fatal(err)
		}
	}
	if n%3 != 0 {
		tb.Fatalf("%d segments, want a multiple of 3", n)
	}
	return n / 3
}

// TestTokenExtractionShrinks checks that decoding the tokens is worth it:
// the claims in the decoded JWT payloads compress with the user claims
// next to them, and the signatures are stored as bytes.
func TestTokenExtractionShrinks(t *testing.T) {
	session, js := newSession(t)
	compact, err := compactSerializer{}.Serialize(session)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := deflate(js)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("JSON %d bytes, deflated %d, serialized %d", len(js), len(plain), len(compact))
	// The two RS256 signatures alone shrink by 2*(342-256) bytes.
	if len(compact) > len(plain)-200 {
		t.Errorf("serialized %d bytes, want at least 200 fewer than the %d of deflated JSON", len(compact), len(plain))
	}
}

func TestUnpackMalformed(t *testing.T) {
	payload := func(js string, segs ...string) []byte {
		p := binary.AppendUvarint([]byte{formatVersion}, uint64(len(js)))
		p = append(p, js...)
		for _, s := range segs {
			p = append(binary.AppendUvarint(p, uint64(len(s))), s...)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		p    []byte
	}{
		{"empty", nil},
		{"unknown version", []byte{2, 0}},
		{"no JSON length", []byte{formatVersion}},
		{"JSON length overflows", append([]byte{formatVersion}, bytes.Repeat([]byte{0xff}, 10)...)},
		{"JSON length beyond input", []byte{formatVersion, 5, '{', '}'}},
		{"huge JSON length", binary.AppendUvarint([]byte{formatVersion}, 1<<62)},
		{"token without marker", payload(`""`, "h", "p", "s")},
		{"short token", payload(`"\u0000"`, "h", "p")},
		{"segment length beyond input", append(payload(`"\u0000"`, "h", "p"), 9, 's')},
		{"more markers than tokens", payload(`["\u0000","\u0000"]`, "h", "p", "s")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if js, err := unpack(tc.p); !errors.Is(err, errMalformed) {
				t.Errorf("unpack(%q) = %q, %v; want errMalformed", tc.p, js, err)
			}
		})
	}
}

func TestDeserialize(t *testing.T) {
	compress := func(p []byte) []byte {
		var buf bytes.Buffer
		zw, err := flate.NewWriter(&buf, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	valid := compress([]byte{formatVersion, 2, '{', '}'})
	for _, tc := range []struct {
		name    string
		data    []byte
		wantErr bool
	}{
		{"valid", valid, false},
		{"empty", nil, true},
		{"not DEFLATE", []byte("hello, world"), true},
		{"truncated", valid[:len(valid)-1], true},
		{"malformed payload", compress([]byte{formatVersion, 9}), true},
		{"malformed JSON", compress([]byte{formatVersion, 2, '{', '{'}), true},
		{"wrong JSON type", compress([]byte{formatVersion, 2, '[', ']'}), true},
		{"payload at the limit", compress(objectPayload(t, maxPayload)), false},
		{"payload over the limit", compress(objectPayload(t, maxPayload+1)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v map[string]any
			err := compactSerializer{}.Deserialize(tc.data, &v)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Deserialize error %v, want error %t", err, tc.wantErr)
			}
			if err == nil && (v == nil || len(v) != 0) {
				t.Errorf("Deserialize = %v, want an empty map", v)
			}
		})
	}
}

// objectPayload returns a payload of size bytes whose JSON is an empty
// object padded with spaces.
func objectPayload(tb testing.TB, size int) []byte {
	tb.Helper()
	n := size - 1 - 3 // version, a 3-byte uvarint length
	p := binary.AppendUvarint([]byte{formatVersion}, uint64(n))
	p = append(p, '{')
	p = append(p, bytes.Repeat([]byte(" "), n-2)...)
	p = append(p, '}')
	if len(p) != size {
		tb.Fatalf("payload of %d bytes, want %d", len(p), size)
	}
	return p
}

// TestDeserializeBomb checks that a value inflating to far more than
// maxPayload costs little memory.
func TestDeserializeBomb(t *testing.T) {
	const inflated = 16 * maxPayload
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(make([]byte, inflated)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var v any
	err = compactSerializer{}.Deserialize(buf.Bytes(), &v)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, errMalformed) {
		t.Errorf("Deserialize error %v, want errMalformed", err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d compressed bytes inflating to %d allocated %d bytes", buf.Len(), inflated, allocated)
	if allocated > 8*maxPayload {
		t.Errorf("allocated %d bytes, want at most %d", allocated, 8*maxPayload)
	}
}
