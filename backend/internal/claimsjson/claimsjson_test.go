package claimsjson

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// seeds are JSON texts Decode must treat as the JSON v2 package does,
// accepted or refused: the fuzzer's seeds and TestDecode's cases.
var seeds = []string{
	`{}`,
	` {"sub":"user-1"} `,
	"\t{\n\"a\"\r:\n1}\n",
	`{"aud":"https://api.example.com","client_id":"test-client","exp":1796602260,"iat":1796598660,"iss":"http://127.0.0.1:45517","jti":"4YVASMUWO3ARNGT4Q3HG4H4FYA","scope":"read write","sub":"user-1"}`,
	`{"aud":["a","b"],"scp":["read"],"groups":[{"id":"g1","name":"Admins"},"g2"],"cnf":{"jkt":"x"}}`,
	`{"n":[0,-0,1,-1,1.5,-1.5e3,1E+2,1e-2,123456789012345,1234567890123456,12345678901234567890,9007199254740993,0.1,1e308,1e-400,4.9e-324]}`,
	`{"big":1e400}`, `{"big":-1e309}`, `{"n":01}`, `{"n":1.}`, `{"n":.1}`, `{"n":-}`, `{"n":+1}`, `{"n":1e}`, `{"n":1e+}`, `{"n":--1}`, `{"n":0x1}`, `{"n":NaN}`, `{"n":Infinity}`,
	`{"t":true,"f":false,"z":null}`, `{"t":tru}`, `{"t":truex}`, `{"t":True}`, `{"z":nul}`,
	`{"e":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00\u0000"}`,
	`{"e":"\ud800"}`, `{"e":"\udc00"}`, `{"e":"\ud800\u0041"}`, `{"e":"\ud800\ud800"}`, `{"e":"\ud83d\ude00x"}`, `{"e":"\ud800\"}`,
	`{"e":"\x"}`, `{"e":"\u12"}`, `{"e":"\u12g4"}`, `{"e":"\U0041"}`, `{"e":"\`, `{"e":"abc`,
	"{\"e\":\"tab\there\"}", "{\"e\":\"nl\nhere\"}", "{\"e\":\"del\x7fhere\"}",
	"{\"e\":\"\xff\"}", "{\"\xff\":1}", "{\"e\":\"\xed\xa0\x80\"}", "{\"e\":\"\xc3\"}", "{\"e\":\"é€😀\"}",
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"x":1},{"x":1}]}`, `{"a":1,"A":2}`,
	`{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{"a":1 "b":2}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{a:1}`, `{'a':1}`,
	`{"a":1}{}`, `{"a":1} x`, `{"a":1`, `{`, ``, ` `, `}`, `[]`, `[{"a":1}]`, `"s"`, `1`, `null`, `true`,
	"\xef\xbb\xbf{}", "{\"a\":1}\x00", "{\"a\":\u00a01}",
	`{"a":[[[[[[[[[[]]]]]]]]]]}`, `{"":{"":{"":""}}}`,
	`{"iss":"https://op.example.com","sub":"user-1","aud":["api","other"],"exp":1900000000,"iat":1.5e9,"nbf":0,"scope":"read write"}`,
	`{"n":-0,"big":9007199254740993,"tiny":5e-324,"max":1.7976931348623157e308,"e":1E+2,"neg":-12.5}`,
	`{"s":"\u00e9\ud83d\ude00 \"quoted\" \\ \/ \b\f\n\r\t","k\u0065y":"escaped name","":"empty name","é":"utf-8"}`,
	`{"cnf":{"jkt":"abc","x5t#S256":"def"},"groups":[{"id":"g1","name":"Admins"},"g2",null,true,false,[],{}]}`,
	`{"cnf":{"jkt":"a","jkt":"b"}}`, `{"a\u0075d":"x","aud":"y"}`, `{'sub':'user-1'}`,
}

func TestDecode(t *testing.T) {
	for _, text := range seeds {
		checkAgainstJSONv2(t, []byte(text))
	}
}

func TestDecodeErrors(t *testing.T) {
	var syntax *Error
	if _, err := Decode(`{"aud":"a","aud":"b"}`); !errors.As(err, &syntax) || syntax.Offset != 11 {
		t.Errorf("duplicate name: %v, want an *Error at offset 11", err)
	}
	if _, err := Decode(`["a"]`); !errors.Is(err, ErrNotObject) {
		t.Errorf("array: %v, want ErrNotObject", err)
	}
}

func TestDecodeNesting(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		objects := strings.Repeat(`{"a":`, depth) + `1` + strings.Repeat(`}`, depth)
		checkAgainstJSONv2(t, []byte(objects))
		arrays := `{"a":` + strings.Repeat(`[`, depth-1) + strings.Repeat(`]`, depth-1) + `}`
		checkAgainstJSONv2(t, []byte(arrays))
	}
	if _, err := Decode(strings.Repeat(`{"a":`, maxDepth+1) + `1` + strings.Repeat(`}`, maxDepth+1)); err == nil {
		t.Errorf("%d nested objects decoded", maxDepth+1)
	}
}

func TestDecodeNumbers(t *testing.T) {
	m, err := Decode(`{"negzero":-0,"exp":1796602260,"big":9007199254740993,"frac":0.1}`)
	if err != nil {
		t.Fatal(err)
	}
	if f := m["negzero"].(float64); f != 0 || !math.Signbit(f) {
		t.Errorf("-0 decoded as %v", f)
	}
	if m["exp"] != float64(1796602260) || m["big"] != float64(9007199254740992) || m["frac"] != 0.1 {
		t.Errorf("numbers: %v", m)
	}
}

// checkAgainstJSONv2 checks that Decode and the JSON v2 package, which
// decoded the claims before it, accept and refuse the same texts, with
// the same value, and that what Decode accepts, encoding/json decodes to
// the same value.
func checkAgainstJSONv2(t *testing.T, text []byte) {
	t.Helper()
	got, err := Decode(string(text))
	var v any
	theirErr := jsonv2.Unmarshal(text, &v)
	want, isObject := v.(map[string]any)
	if theirErr == nil && !isObject {
		theirErr = ErrNotObject
	}
	switch {
	case err == nil && theirErr != nil:
		t.Fatalf("%.200q: decoded, the JSON v2 package refuses it: %v", text, theirErr)
	case err != nil && theirErr == nil:
		t.Fatalf("%.200q: refused (%v), the JSON v2 package decodes it", text, err)
	case err == nil && !sameValue(got, want):
		t.Fatalf("%.200q: %#v, the JSON v2 package gives %#v", text, got, want)
	case err == nil:
		var std map[string]any
		if err := json.Unmarshal(text, &std); err != nil || !sameValue(got, std) {
			t.Fatalf("%.200q: %#v, encoding/json gives %#v, %v", text, got, std, err)
		}
	}
}

// sameValue reports whether two decoded values are the same, as
// reflect.DeepEqual does but with -0 apart from 0.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, sameValue)
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	}
	return a == b
}

// FuzzDecode checks Decode against the JSON v2 package and encoding/json
// (checkAgainstJSONv2).
func FuzzDecode(f *testing.F) {
	for _, text := range seeds {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		checkAgainstJSONv2(t, text)
	})
}
