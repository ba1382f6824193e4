package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// Value writes v, which may be any value Map accepts for a value of its
// map, not only a map: the tests write every kind of Value with it.
func (w *Writer) Value(v any) { w.value(v, 0) }

// Value reads a Value of any kind, as Map reads one that is a map.
func (r *Reader) Value() any { return r.value(0, true) }

// jsonRoundTrip returns v marshaled to JSON and unmarshaled into an any.
func jsonRoundTrip(tb testing.TB, v any) any {
	tb.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(js, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// encodeValue returns the payload of v alone.
func encodeValue(tb testing.TB, v any) []byte {
	tb.Helper()
	var w Writer
	w.Value(v)
	p, err := w.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestValueRoundTrip(t *testing.T) {
	type claims struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles,omitempty"`
	}
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"null", nil},
		{"bools", []any{true, false}},
		{"string", "héllo wörld, 世界, 🎉, \x00"},
		{"empty string", ""},
		{"integers", []any{0.0, 1.0, -1.0, 255.0, 1e15, float64(-1 << 53), float64(1 << 62), float64(-1 << 63)}},
		{"floats", []any{0.5, -0.25, 1e300, 5e-324, math.Copysign(0, -1), float64(1 << 63), math.MaxFloat64}},
		{"nested", map[string]any{
			"a": map[string]any{"b": []any{1.0, "two", true, nil, map[string]any{}}},
			"":  []any{},
			"ü": "x",
		}},
		{"nil map and slice", []any{map[string]any(nil), []any(nil)}},
		{"Go types, as JSON decodes them", map[string]any{
			"int": 7, "int64 beyond 2^53": int64(1<<53 + 1), "float32": float32(0.1),
			"strings": []string{"a", "b"}, "struct": claims{Name: "n"},
			"number": json.Number("12.5"), "raw": json.RawMessage(`{"x":[1]}`),
			"map": map[string]int{"z": 1, "a": 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := encodeValue(t, tc.v)
			r := NewReader(p)
			got := r.Value()
			if err := r.Done(); err != nil {
				t.Fatal(err)
			}
			if want := jsonRoundTrip(t, tc.v); !reflect.DeepEqual(got, want) {
				t.Errorf("decoded %#v, want %#v", got, want)
			}
			if again := encodeValue(t, got); !bytes.Equal(again, p) {
				t.Errorf("re-encoded %x, want %x", again, p)
			}
		})
	}
}

func TestNegativeZero(t *testing.T) {
	r := NewReader(encodeValue(t, math.Copysign(0, -1)))
	if f, _ := r.Value().(float64); f != 0 || !math.Signbit(f) {
		t.Errorf("decoded %v, want -0", f)
	}
}

func TestWriterErrors(t *testing.T) {
	deep := any("x")
	for range MaxDepth + 1 {
		deep = []any{deep}
	}
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"NaN", math.NaN()},
		{"infinity", []any{math.Inf(-1)}},
		{"function", map[string]any{"f": func() {}}},
		{"channel", make(chan int)},
		{"too deep", deep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w Writer
			w.Str("before")
			w.Value(tc.v)
			w.Str("after")
			if p, err := w.Bytes(); err == nil {
				t.Errorf("Bytes = %x, want an error", p)
			}
		})
	}
}

func TestMaxDepth(t *testing.T) {
	nested := func(depth int) any {
		v := any(1.0)
		for range depth {
			v = []any{v}
		}
		return v
	}
	p := encodeValue(t, nested(MaxDepth))
	r := NewReader(p)
	r.Value()
	if err := r.Done(); err != nil {
		t.Fatalf("reading %d nested arrays: %v", MaxDepth, err)
	}
	// One level more, crafted by hand since no Writer writes it.
	deeper := append(bytes.Clone(p[:1]), tagArray, 1)
	deeper = append(deeper, p[1:]...)
	r = NewReader(deeper)
	r.Value()
	if err := r.Done(); !errors.Is(err, ErrMalformed) {
		t.Errorf("reading %d nested arrays: %v, want ErrMalformed", MaxDepth+1, err)
	}
}

func TestToken(t *testing.T) {
	const jws = "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln" // {"alg":"HS256"}.{"a":1}.sig
	for _, tc := range []struct {
		token string
		kind  byte
	}{
		{jws, tokenJWS},
		{"eyJhbGciOiJIUzI1NiJ9..", tokenJWS},
		{"0123456789abcdef", tokenHex},
		{"Zm9vYmFy-w", tokenBase64},
		{"0123456789ABCDEF", tokenBase64},
		{"abc", tokenBase64},
		{"", tokenText},
		{"a", tokenText},                                    // no whole byte
		{"Zm9=", tokenText},                                 // padded
		{"Zm9vYmFy+/", tokenText},                           // standard alphabet
		{"Zm9\nvYmFy", tokenText},                           // line break
		{"eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfR.c2ln", tokenText}, // padding bits set
		{jws + "." + "c2ln", tokenText},
		{"opaque token with spaces", tokenText},
	} {
		t.Run(tc.token, func(t *testing.T) {
			var w Writer
			w.Token(tc.token)
			p, err := w.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			r := NewReader(p)
			got := r.Token()
			if err := r.Done(); err != nil {
				t.Fatal(err)
			}
			if got != tc.token {
				t.Errorf("read %q", got)
			}
			if kind := w.buf[0]; kind != tc.kind {
				t.Errorf("stored as kind %d, want %d", kind, tc.kind)
			}
		})
	}
}

// payload returns a payload of the given strings section and structure.
func payload(strs string, structure ...byte) []byte {
	return append(append(binary.AppendUvarint(nil, uint64(len(strs))), strs...), structure...)
}

func TestReaderRejects(t *testing.T) {
	float := func(f float64) []byte {
		return binary.LittleEndian.AppendUint64([]byte{tagFloat}, math.Float64bits(f))
	}
	for _, tc := range []struct {
		name string
		p    []byte
		read func(r *Reader)
	}{
		{"empty", nil, func(r *Reader) { r.Value() }},
		{"strings beyond the end", []byte{5, 'a'}, func(r *Reader) {}},
		{"long strings length", []byte{0x80, 0}, func(r *Reader) {}},
		{"nothing to read", payload(""), func(r *Reader) { r.Value() }},
		{"left over", payload("", tagNull, tagNull), func(r *Reader) { r.Value() }},
		{"strings left over", payload("x", tagNull), func(r *Reader) { r.Value() }},
		{"unknown tag", payload("", 8), func(r *Reader) { r.Value() }},
		{"string beyond the strings", payload("ab", tagString, 3), func(r *Reader) { r.Value() }},
		{"long uvarint", payload("", tagString, 0x80, 0), func(r *Reader) { r.Value() }},
		{"overflowing uvarint", payload("", append([]byte{tagArray}, bytes.Repeat([]byte{0xff}, 10)...)...), func(r *Reader) { r.Value() }},
		{"long varint", payload("", tagInt, 0x82, 0), func(r *Reader) { r.Value() }},
		{"integer no float64 holds", payload("", binary.AppendVarint([]byte{tagInt}, 1<<53+1)...), func(r *Reader) { r.Value() }},
		{"integer that rounds to 2^63", payload("", binary.AppendVarint([]byte{tagInt}, math.MaxInt64)...), func(r *Reader) { r.Value() }},
		{"integral float", payload("", float(2)...), func(r *Reader) { r.Value() }},
		{"NaN", payload("", float(math.NaN())...), func(r *Reader) { r.Value() }},
		{"infinity", payload("", float(math.Inf(1))...), func(r *Reader) { r.Value() }},
		{"short float", payload("", tagFloat, 0, 0), func(r *Reader) { r.Value() }},
		{"array count beyond the end", payload("", tagArray, 3, tagNull, tagNull), func(r *Reader) { r.Value() }},
		{"object count beyond the end", payload("ab", tagObject, 2, 1, tagNull, 1), func(r *Reader) { r.Value() }},
		{"keys out of order", payload("ba", tagObject, 2, 1, tagNull, 1, tagNull), func(r *Reader) { r.Value() }},
		{"duplicate keys", payload("aa", tagObject, 2, 1, tagNull, 1, tagNull), func(r *Reader) { r.Value() }},
		{"map of a string", payload("a", tagString, 1), func(r *Reader) { r.Map() }},
		{"bool of 2", payload("", 2), func(r *Reader) { r.Bool() }},
		{"count beyond the end", payload("", 2, 0), func(r *Reader) { r.Count(2) }},
		{"unknown token kind", payload("", 4, 0), func(r *Reader) { r.Token() }},
		{"hex token as text", payload("ab", tokenText, 2), func(r *Reader) { r.Token() }},
		{"base64 token as text", payload("abc", tokenText, 3), func(r *Reader) { r.Token() }},
		{"JWS as text", payload("eyJhIjoxfQ.eA.eA", tokenText, 16), func(r *Reader) { r.Token() }},
		{"hex token as base64", payload("", tokenBase64, 3, 0xd3, 0x5d, 0xb7), func(r *Reader) { r.Token() }}, // d3 5d b7 is "0123"
		{"empty hex token", payload("", tokenHex, 0), func(r *Reader) { r.Token() }},
		{"empty base64 token", payload("", tokenBase64, 0), func(r *Reader) { r.Token() }},
		{"JWS header not JSON", payload("", tokenJWS, 1, 'x', 0, 0), func(r *Reader) { r.Token() }},
		{"JWS short", payload("", tokenJWS, 2, '{', '"', 0), func(r *Reader) { r.Token() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.p)
			tc.read(&r)
			if err := r.Done(); !errors.Is(err, ErrMalformed) {
				t.Errorf("Done() = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestStringsShareOneCopy checks that a Reader's strings do not refer to
// the payload, which the caller may reuse, and cost no allocation each.
func TestStringsShareOneCopy(t *testing.T) {
	var w Writer
	for _, s := range []string{"alpha", "beta", "gamma"} {
		w.Str(s)
	}
	p, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	allocs := testing.AllocsPerRun(10, func() {
		r := NewReader(p)
		got = append(got[:0], r.Str(), r.Str(), r.Str())
	})
	if allocs > 1 {
		t.Errorf("reading three strings allocated %v times, want once", allocs)
	}
	clear(p)
	if strings.Join(got, ",") != "alpha,beta,gamma" {
		t.Errorf("strings %q changed with the payload", got)
	}
}

// TestRawMap checks that RawMap costs one allocation, however many claims,
// that its Raw decodes and writes back as read, and that it refuses what
// Map refuses.
func TestRawMap(t *testing.T) {
	claims := map[string]any{"sub": "1234", "name": "Ada", "groups": []any{"a", "b"}, "n": 1.5, "ok": true}
	var w Writer
	w.Map(claims)
	w.Str("after")
	p, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var raw Raw
	allocs := testing.AllocsPerRun(10, func() {
		r := NewReader(p)
		raw = r.RawMap()
		if after := r.Str(); after != "after" || r.Done() != nil {
			t.Fatalf("read %q after the map: %v", after, r.Done())
		}
	})
	if allocs > 2 { // the Reader's strings, the Raw's structure
		t.Errorf("NewReader and RawMap allocated %v times, want 2", allocs)
	}
	clear(p)
	if got := raw.Map(); !reflect.DeepEqual(got, claims) {
		t.Errorf("Raw decoded %#v after the payload changed, want %#v", got, claims)
	}
	var again Writer
	again.Raw(raw)
	want := encodeValue(t, claims)
	if got, err := again.Bytes(); err != nil || !bytes.Equal(got, want) {
		t.Errorf("Raw written as %x, %v; want %x", got, err, want)
	}

	var zero Raw
	if m := zero.Map(); m != nil {
		t.Errorf("zero Raw decoded %#v, want nil", m)
	}
	var nullWriter Writer
	nullWriter.Raw(zero)
	if got, _ := nullWriter.Bytes(); !bytes.Equal(got, encodeValue(t, nil)) {
		t.Errorf("zero Raw written as %x, want null", got)
	}

	for name, p := range map[string][]byte{
		"a string":          payload("a", tagString, 1),
		"a bad inner value": payload("a", tagObject, 1, 1, 9),
		"nothing":           payload(""),
	} {
		r := NewReader(p)
		if raw := r.RawMap(); !errors.Is(r.Done(), ErrMalformed) || raw.Map() != nil {
			t.Errorf("%s: RawMap read %#v, Done() = %v; want ErrMalformed", name, raw.Map(), r.Done())
		}
	}
}
