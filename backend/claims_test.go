package backend

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeClaimsSeeds are JSON texts decodeClaims accepts.
var decodeClaimsSeeds = []string{
	`{}`,
	` { "sub" : "user-1" } `,
	`{"iss":"https://op.example.com","sub":"user-1","aud":["api","other"],"exp":1900000000,"iat":1.5e9,"nbf":0,"scope":"read write"}`,
	`{"n":-0,"big":9007199254740993,"tiny":5e-324,"max":1.7976931348623157e308,"e":1E+2,"neg":-12.5}`,
	`{"s":"\u00e9\ud83d\ude00 \"quoted\" \\ \/ \b\f\n\r\t","k\u0065y":"escaped name","":"empty name","é":"utf-8"}`,
	`{"cnf":{"jkt":"abc","x5t#S256":"def"},"groups":[{"id":"g1","name":"Admins"},"g2",null,true,false,[],{}]}`,
	`{"deep":[[[[{"a":[1,2,{"b":null}]}]]]]}`,
	`{"a":{"x":1},"b":{"x":2}}`,
}

func TestDecodeClaimsMatchesEncodingJSON(t *testing.T) {
	for _, text := range decodeClaimsSeeds {
		got, err := decodeClaims([]byte(text))
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		var want Claims
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatalf("%s: encoding/json: %v", text, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %#v, encoding/json gives %#v", text, got, want)
		}
	}
}

func TestDecodeClaimsRefuses(t *testing.T) {
	for _, text := range []string{
		``,
		`null`,
		`[]`,
		`"a string"`,
		`1`,
		`{"aud":"api","aud":"evil"}`,    // duplicate names
		`{"cnf":{"jkt":"a","jkt":"b"}}`, // nested
		`{"a\u0075d":"x","aud":"y"}`,    // duplicate once unescaped
		`{"sub":"user-1"} {}`,
		`{"sub":"user-1",}`,
		`{'sub':'user-1'}`,
		`{"sub":"user-1"`,
		`{"exp":1e400}`,
		`{"exp":01}`,
		`{"exp":NaN}`,
		"{\"sub\":\"\xff\"}",      // invalid UTF-8
		`{"sub":"\ud800"}`,        // lone surrogate
		"{\"sub\":\"tab\there\"}", // control character
	} {
		if c, err := decodeClaims([]byte(text)); err == nil {
			t.Errorf("%q: decoded %#v, want an error", text, c)
		}
	}
}

// FuzzDecodeClaims checks decodeClaims against encoding/json: what it
// decodes, encoding/json decodes to the same map; what encoding/json
// decodes and it refuses has duplicate names or invalid UTF-8, the two
// things it refuses on purpose.
func FuzzDecodeClaims(f *testing.F) {
	for _, text := range decodeClaimsSeeds {
		f.Add([]byte(text))
	}
	f.Add([]byte(`{"aud":"api","aud":"evil"}`))
	f.Add([]byte("{\"sub\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, text []byte) {
		got, err := decodeClaims(text)
		var want Claims
		theirErr := json.Unmarshal(text, &want)
		switch {
		case err == nil && theirErr != nil:
			t.Fatalf("%q: decoded, encoding/json refuses: %v", text, theirErr)
		case err == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("%q: %#v, encoding/json gives %#v", text, got, want)
		case err != nil && theirErr == nil && want != nil:
			if !jsontext.Value(text).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) {
				t.Fatalf("%q: refused (%v) for more than duplicate names or invalid UTF-8", text, err)
			}
			if jsontext.Value(text).IsValid() {
				t.Fatalf("%q: refused (%v) though its names are unique and its UTF-8 valid", text, err)
			}
		}
	})
}
