package backend

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// b64 encodes s as unpadded base64url.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestParseCompactJWS(t *testing.T) {
	header := b64(`{"alg":"RS256","kid":"k1","typ":"at+jwt"}`)
	payload := b64(`{"sub":"user-1"}`)
	sig := b64("signature")
	for _, tc := range []struct {
		name  string
		token string
		err   error // nil when the token parses; else matched with errors.Is when not errAny
	}{
		{"valid", header + "." + payload + "." + sig, nil},
		{"empty payload", header + ".." + sig, nil},
		{"empty", "", errCompactForm},
		{"no dot", header, errCompactForm},
		{"one dot", header + "." + payload, errCompactForm},
		{"extra dot", header + "." + payload + "." + sig + ".", errCompactForm},
		{"four parts", header + "." + payload + "." + sig + "." + sig, errCompactForm},
		{"header padded", b64(`{"alg":"RS256"}`) + "=." + payload + "." + sig, errAny},
		{"payload padded", header + "." + b64(`{"sub":"u"}`) + "==." + sig, errAny},
		{"signature padded", header + "." + payload + "." + b64("sig") + "=", errAny},
		{"standard alphabet", header + "." + payload + "." + "ab+/", errAny},
		{"non-zero trailing bits", header + "." + payload + "." + "AB", errAny},
		{"impossible length", header + "." + payload + "." + "A", errAny},
		{"line break", header + "." + payload[:2] + "\r\n" + payload[2:] + "." + sig, errCompactForm},
		{"huge header", strings.Repeat("A", maxHeaderLength+4) + "." + payload + "." + sig, errHeaderLength},
		{"header not JSON", b64("alg") + "." + payload + "." + sig, errAny},
		{"header an array", b64(`["RS256"]`) + "." + payload + "." + sig, errAny},
		{"header with trailing data", b64(`{"alg":"RS256"}x`) + "." + payload + "." + sig, errAny},
		{"duplicate alg", b64(`{"alg":"RS256","alg":"none"}`) + "." + payload + "." + sig, errAny},
		{"alg of another case", b64(`{"ALG":"RS256"}`) + "." + payload + "." + sig, errAlgorithm},
		{"no alg", b64(`{"kid":"k1"}`) + "." + payload + "." + sig, errAlgorithm},
		{"alg none", b64(`{"alg":"none"}`) + "." + payload + "." + sig, errAlgorithm},
		{"alg HS256", b64(`{"alg":"HS256"}`) + "." + payload + "." + sig, errAlgorithm},
		{"alg not a string", b64(`{"alg":256}`) + "." + payload + "." + sig, errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jws, err := parseCompactJWS(tc.token, defaultAlgs(), nil)
			switch {
			case tc.err == nil && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.err == nil:
				if jws.header.Alg != jose.RS256 || jws.header.Kid != "k1" || jws.header.Typ != "at+jwt" {
					t.Errorf("header %+v", jws.header)
				}
				if want := tc.token[:strings.LastIndexByte(tc.token, '.')]; jws.signingInput != want {
					t.Errorf("signing input %q, want %q", jws.signingInput, want)
				}
				if string(jws.signature) != "signature" {
					t.Errorf("signature %q", jws.signature)
				}
			case err == nil:
				t.Fatalf("parsed %+v, want an error", jws.header)
			case tc.err != errAny && !errors.Is(err, tc.err):
				t.Fatalf("error %v, want %v", err, tc.err)
			}
		})
	}
}

func TestJWTParserRemembersVerifiedHeaders(t *testing.T) {
	f := newFixture(t, nil)
	valid := f.op.SignJWT(t, "at+jwt", f.claimsFor(nil))
	header, _, _ := strings.Cut(valid, ".")
	if _, e := f.c.ValidateAccessToken(t.Context(), valid, nil); e != nil {
		t.Fatal(e)
	}
	known := f.c.jwt.known.Load()
	if known == nil || known.encoded != header || known.header.Alg != jose.RS256 || known.header.Typ != "at+jwt" {
		t.Fatalf("known header %+v, want the valid token's", known)
	}

	forged := withHeader(valid, `{"alg":"RS256","kid":"other","typ":"JWT"}`)
	if _, e := f.c.ValidateAccessToken(t.Context(), forged, nil); e == nil {
		t.Fatal("forged token accepted")
	}
	if f.c.jwt.known.Load() != known {
		t.Error("a token whose signature did not verify replaced the known header")
	}

	jws, err := f.c.jwt.parse(forged)
	if err != nil {
		t.Fatal(err)
	}
	if jws.header.Kid != "other" || jws.header.Typ != "JWT" {
		t.Errorf("header %+v of a token with another header, want its own", jws.header)
	}
}

// errAny stands for any error in tables.
var errAny = errors.New("any error")

func TestParseCompactJWSHeaderFields(t *testing.T) {
	for _, tc := range []struct {
		header   string
		crit     bool
		typ      any
		typIsNil bool
	}{
		{`{"alg":"RS256"}`, false, nil, true},
		{`{"alg":"RS256","typ":"JWT"}`, false, "JWT", false},
		{`{"alg":"RS256","typ":7}`, false, 7.0, false},
		{`{"alg":"RS256","typ":null}`, false, nil, true},
		{`{"alg":"RS256","crit":["exp"]}`, true, nil, true},
		{`{"alg":"RS256","crit":[]}`, true, nil, true},
		{`{"alg":"RS256","crit":null}`, true, nil, true},
		{`{"alg":"RS256","Crit":["exp"]}`, false, nil, true},
	} {
		jws, err := parseCompactJWS(b64(tc.header)+"."+b64("{}")+"."+b64("s"), defaultAlgs(), nil)
		if err != nil {
			t.Errorf("%s: %v", tc.header, err)
			continue
		}
		if got := jws.header.Crit != nil; got != tc.crit {
			t.Errorf("%s: crit %v, want %v", tc.header, got, tc.crit)
		}
		if jws.header.Typ != tc.typ {
			t.Errorf("%s: typ %#v, want %#v", tc.header, jws.header.Typ, tc.typ)
		}
	}
}

// TestVerifyWithMatchesGoJose signs with go-jose for every algorithm the
// backend may allow and checks that verifyWith accepts what go-jose
// verifies and refuses a wrong key, a tampered signing input and a
// signature of the wrong size.
func TestVerifyWithMatchesGoJose(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := func(c elliptic.Curve) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	p256, p384, p521 := ecKey(elliptic.P256()), ecKey(elliptic.P384()), ecKey(elliptic.P521())
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherEd, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		alg           jose.SignatureAlgorithm
		signer        crypto.Signer
		public, wrong any
	}{
		{jose.RS256, rsaKey, &rsaKey.PublicKey, &otherRSA.PublicKey},
		{jose.RS384, rsaKey, &rsaKey.PublicKey, &otherRSA.PublicKey},
		{jose.RS512, rsaKey, &rsaKey.PublicKey, &otherRSA.PublicKey},
		{jose.PS256, rsaKey, &rsaKey.PublicKey, &otherRSA.PublicKey},
		{jose.PS384, rsaKey, &rsaKey.PublicKey, &otherRSA.PublicKey},
		{jose.PS512, rsaKey, &rsaKey.PublicKey, &otherRSA.PublicKey},
		{jose.ES256, p256, &p256.PublicKey, &ecKey(elliptic.P256()).PublicKey},
		{jose.ES384, p384, &p384.PublicKey, &p256.PublicKey},
		{jose.ES512, p521, &p521.PublicKey, &p384.PublicKey},
		{jose.EdDSA, edPriv, edPub, otherEd},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: tc.alg, Key: tc.signer}, nil)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := signer.Sign([]byte(`{"sub":"user-1"}`))
			if err != nil {
				t.Fatal(err)
			}
			token, err := signed.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			algs := []jose.SignatureAlgorithm{tc.alg}
			jws, err := parseCompactJWS(token, algs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(jws.payload, []byte(`{"sub":"user-1"}`)) {
				t.Errorf("payload %q", jws.payload)
			}
			key := jose.JSONWebKey{Key: tc.public}
			if err := jws.verifyWith([]jose.JSONWebKey{{Key: tc.wrong}, key}); err != nil {
				t.Errorf("the right key after a wrong one: %v", err)
			}
			if err := jws.verifyWith([]jose.JSONWebKey{{Key: tc.wrong}}); !errors.Is(err, errSignature) {
				t.Errorf("wrong key: %v, want errSignature", err)
			}
			tampered := jws
			tampered.signingInput = b64(`{"alg":"`+string(tc.alg)+`","kid":"x"}`) + jws.signingInput[strings.IndexByte(jws.signingInput, '.'):]
			if err := tampered.verifyWith([]jose.JSONWebKey{key}); !errors.Is(err, errSignature) {
				t.Errorf("tampered signing input: %v, want errSignature", err)
			}
			short := jws
			short.signature = jws.signature[:len(jws.signature)-1]
			if err := short.verifyWith([]jose.JSONWebKey{key}); !errors.Is(err, errSignature) {
				t.Errorf("short signature: %v, want errSignature", err)
			}
		})
	}
}

// TestVerifyWithRefusesAlgorithmOfAnotherKeyType checks that a key only
// verifies signatures of its own algorithm family, whatever the key set
// hands over.
func TestVerifyWithRefusesAlgorithmOfAnotherKeyType(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: p256}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.Sign([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	token, err := signed.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	jws, err := parseCompactJWS(token, defaultAlgs(), nil)
	if err != nil {
		t.Fatal(err)
	}
	jws.header.Alg = jose.ES384 // hashed with SHA-384, r and s of 48 bytes
	if err := jws.verifyWith([]jose.JSONWebKey{{Key: &p256.PublicKey}}); !errors.Is(err, errSignature) {
		t.Errorf("ES256 signature checked as ES384: %v, want errSignature", err)
	}
	jws.header.Alg = jose.RS256
	if err := jws.verifyWith([]jose.JSONWebKey{{Key: &p256.PublicKey}}); !errors.Is(err, errSignature) {
		t.Errorf("EC key for RS256: %v, want errSignature", err)
	}
}

// FuzzParseCompactJWS checks that parseCompactJWS never panics, that what
// it accepts re-encodes to the token, and that it agrees with go-jose on
// the algorithm, key ID and payload of a token both accept.
func FuzzParseCompactJWS(f *testing.F) {
	f.Add(b64(`{"alg":"RS256","kid":"k1","typ":"at+jwt"}`) + "." + b64(`{"sub":"u"}`) + "." + b64("sig"))
	f.Add(b64(`{"alg":"ES256","crit":["b64"],"b64":false}`) + ".." + b64("sig"))
	f.Add(b64(`{"alg":"RS256","alg":"RS256"}`) + ".e30." + b64("sig"))
	f.Add("a.b.c.d")
	f.Add("eyJhbGciOiJSUzI1NiJ9=.e30.AA")
	f.Fuzz(func(t *testing.T, token string) {
		jws, err := parseCompactJWS(token, defaultAlgs(), nil)
		if err != nil {
			return
		}
		enc := base64.RawURLEncoding
		header, _, _ := strings.Cut(jws.signingInput, ".")
		if got := header + "." + enc.EncodeToString(jws.payload) + "." + enc.EncodeToString(jws.signature); got != token {
			t.Fatalf("accepted %q, which re-encodes to %q", token, got)
		}
		again, err := parseCompactJWS(token, defaultAlgs(), &knownHeader{encoded: jws.encodedHeader, header: jws.header})
		if err != nil || !reflect.DeepEqual(again.header, jws.header) || !bytes.Equal(again.payload, jws.payload) || !bytes.Equal(again.signature, jws.signature) {
			t.Fatalf("with its header known: %+v, %v", again, err)
		}
		theirs, err := jose.ParseSignedCompact(token, defaultAlgs())
		if err != nil {
			return // go-jose refuses more (embedded jwk, b64), never less that matters here
		}
		h := theirs.Signatures[0].Header
		if jose.SignatureAlgorithm(h.Algorithm) != jws.header.Alg || h.KeyID != jws.header.Kid {
			t.Fatalf("header %+v, go-jose's alg %q kid %q", jws.header, h.Algorithm, h.KeyID)
		}
		if !bytes.Equal(theirs.UnsafePayloadWithoutVerification(), jws.payload) {
			t.Fatalf("payload %q, go-jose's %q", jws.payload, theirs.UnsafePayloadWithoutVerification())
		}
	})
}
