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
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/monocloud/auth-go/backend/internal/claimsjson"
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
		{"line break in the header", header[:4] + "\n" + header[4:] + "." + payload + "." + sig, errAny},
		{"line break in the payload", header + "." + payload[:2] + "\r\n" + payload[2:] + "." + sig, errAny},
		{"line break in the signature", header + "." + payload + "." + sig[:4] + "\r" + sig[4:], errAny},
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

// TestParseCompactJWSAllocations checks that parsing a token whose header
// is known costs two allocations, the payload's buffer and the
// signature's, that decoding the claims does not copy the payload again,
// and that verifying its signature costs none besides the primitive's.
func TestParseCompactJWSAllocations(t *testing.T) {
	token := b64(`{"alg":"EdDSA","kid":"k1"}`) + "." + b64(`{"sub":"user-1"}`) + "." + b64("signature")
	algs := []jose.SignatureAlgorithm{jose.EdDSA}
	jws, err := parseCompactJWS(token, algs, nil)
	if err != nil {
		t.Fatal(err)
	}
	known := &knownHeader{encoded: jws.encodedHeader, header: jws.header}
	if n := testing.AllocsPerRun(100, func() { _, _ = parseCompactJWS(token, algs, known) }); n != 2 {
		t.Errorf("parsing with the header known: %v allocations, want 2", n)
	}
	// {"sub":"user-1"}: the map (2), the string's box (1), no copy.
	if n := testing.AllocsPerRun(100, func() { _, _ = claimsjson.Decode(jws.payload) }); n != 3 {
		t.Errorf("decoding the claims: %v allocations, want 3", n)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := []jose.JSONWebKey{{Key: pub}}
	primitive := testing.AllocsPerRun(100, func() { ed25519.Verify(pub, bytesOf(jws.signingInput), jws.signature) })
	if n := testing.AllocsPerRun(100, func() { _ = jws.verifyWith(keys) }); n != primitive {
		t.Errorf("verifying an Ed25519 signature: %v allocations, want ed25519.Verify's %v", n, primitive)
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
			if jws.payload != `{"sub":"user-1"}` {
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
// it accepts re-encodes to the token and go-jose parses too, with the
// same algorithm, key ID and payload.
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
		if got := header + "." + enc.EncodeToString([]byte(jws.payload)) + "." + enc.EncodeToString(jws.signature); got != token {
			t.Fatalf("accepted %q, which re-encodes to %q", token, got)
		}
		again, err := parseCompactJWS(token, defaultAlgs(), &knownHeader{encoded: jws.encodedHeader, header: jws.header})
		if err != nil || !reflect.DeepEqual(again.header, jws.header) || again.payload != jws.payload || !bytes.Equal(again.signature, jws.signature) {
			t.Fatalf("with its header known: %+v, %v", again, err)
		}
		theirs, err := jose.ParseSignedCompact(token, defaultAlgs())
		if err != nil {
			t.Fatalf("parsed %q, which go-jose refuses: %v", token, err)
		}
		h := theirs.Signatures[0].Header
		if jose.SignatureAlgorithm(h.Algorithm) != jws.header.Alg || h.KeyID != jws.header.Kid {
			t.Fatalf("header %+v, go-jose's alg %q kid %q", jws.header, h.Algorithm, h.KeyID)
		}
		if string(theirs.UnsafePayloadWithoutVerification()) != jws.payload {
			t.Fatalf("payload %q, go-jose's %q", jws.payload, theirs.UnsafePayloadWithoutVerification())
		}
	})
}

// differentialKey is a key of the differential tests against go-jose.
type differentialKey struct {
	alg    jose.SignatureAlgorithm // the algorithm the seeds are signed with
	signer crypto.Signer
	public any
}

// differentialKeys are generated once for the differential tests: RSA
// (RS256 and PS256), P-256, P-384 and Ed25519.
var differentialKeys = sync.OnceValue(func() []differentialKey {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		panic(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return []differentialKey{
		{jose.RS256, rsaKey, &rsaKey.PublicKey},
		{jose.PS256, rsaKey, &rsaKey.PublicKey},
		{jose.ES256, p256, &p256.PublicKey},
		{jose.ES384, p384, &p384.PublicKey},
		{jose.EdDSA, edPriv, edPub},
	}
})

// differentialAlgs is the allow-list of the differential tests.
var differentialAlgs = append(defaultAlgs(), jose.EdDSA)

// signForTest signs payload with k as go-jose does, with extra protected
// header parameters, and returns the compact serialization.
func signForTest(t testing.TB, k differentialKey, payload string, opts *jose.SignerOptions) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.signer}, opts)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	token, err := signed.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// differentialSeed is a token of the differential tests, signed with key,
// and how it fares with that key.
type differentialSeed struct {
	name     string
	token    string
	key      differentialKey
	accepted bool // by both
	stricter bool // refused here, accepted by go-jose (see stricterThanGoJose)
}

// differentialSeeds returns tokens signed with each key: valid, with
// header parameters go-jose reads or refuses, and tampered.
func differentialSeeds(t testing.TB) []differentialSeed {
	const payload = `{"iss":"https://op.example.com","sub":"user-1","aud":"api","exp":1900000000}`
	var seeds []differentialSeed
	for _, k := range differentialKeys() {
		valid := signForTest(t, k, payload, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "k1"))
		header, rest, _ := strings.Cut(valid, ".")
		body, sig, _ := strings.Cut(rest, ".")
		rawSig, _ := base64.RawURLEncoding.DecodeString(sig)
		flipped := bytes.Clone(rawSig)
		flipped[len(flipped)/2] ^= 1
		with := func(key string, v any) string {
			return signForTest(t, k, payload, (&jose.SignerOptions{}).WithHeader(jose.HeaderKey(key), v))
		}
		for _, seed := range []differentialSeed{
			{name: "valid", token: valid, accepted: true},
			{name: "payload replaced", token: header + "." + b64(`{"sub":"user-2"}`) + "." + sig},
			{name: "signature changed", token: header + "." + body + "." + b64(string(flipped))},
			{name: "signature short", token: header + "." + body + "." + b64(string(rawSig[:len(rawSig)-1]))},
			{name: "signature missing", token: header + "." + body},
			{name: "algorithm swapped", token: b64(`{"alg":"`+string(otherAlg(k.alg))+`","kid":"k1"}`) + "." + body + "." + sig},
			{name: "line break", token: header + "." + body[:4] + "\r\n" + body[4:] + "." + sig, stricter: true},
			{name: "unused bits set", token: header + "." + body + "." + sig[:len(sig)-1] + string(nextBase64(sig[len(sig)-1])), stricter: len(rawSig)%3 != 0},
			{name: "crit b64", token: signForTest(t, k, `{"sub":"user-1"}`, (&jose.SignerOptions{}).WithBase64(false)), stricter: true},
			{name: "crit exp", token: signForTest(t, k, payload, (&jose.SignerOptions{}).WithCritical("exp").WithHeader("exp", 1))},
			{name: "jwk not a public key", token: with("jwk", map[string]string{"kty": "oct", "k": "AAAA"})},
			{name: "x5c not certificates", token: with("x5c", []string{"AAAA"})},
			{name: "number out of range", token: with("x", json.RawMessage("1e400"))},
			{name: "typ a number", token: with("typ", 7), accepted: true},
			{name: "empty payload", token: signForTest(t, k, "", nil), accepted: true},
			{name: "payload not JSON", token: signForTest(t, k, "not JSON", nil), accepted: true},
		} {
			seed.name = string(k.alg) + " " + seed.name
			seed.key = k
			seeds = append(seeds, seed)
		}
	}
	return seeds
}

// otherAlg is an algorithm of the allow-list other than alg.
func otherAlg(alg jose.SignatureAlgorithm) jose.SignatureAlgorithm {
	if alg == jose.PS256 {
		return jose.RS256
	}
	return jose.PS256
}

// nextBase64 is the base64url character after c, which decodes to other
// bits.
func nextBase64(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return alphabet[(strings.IndexByte(alphabet, c)+1)%len(alphabet)]
}

// verifyCompact is what validateJWT does with a token and a key, without
// the typ policy: parse (no header known), refuse crit, verify.
func verifyCompact(token string, key any) ([]byte, error) {
	jws, err := parseCompactJWS(token, differentialAlgs, nil)
	if err != nil {
		return nil, err
	}
	if jws.header.Crit != nil {
		return nil, errors.New("crit")
	}
	if err := jws.verifyWith([]jose.JSONWebKey{{Key: key}}); err != nil {
		return nil, err
	}
	return []byte(jws.payload), nil
}

// verifyGoJose is go-jose's verdict on token with key.
func verifyGoJose(token string, key any) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, differentialAlgs)
	if err != nil {
		return nil, err
	}
	return jws.Verify(key)
}

// stricterThanGoJose reports why this package refuses a token go-jose may
// accept, deliberately: a crit header parameter (go-jose supports b64), a
// part not in canonical unpadded base64url (go-jose's decoding skips line
// breaks and ignores the last character's unused bits, then verifies the
// re-encoded parts), or a header longer than maxHeaderLength. It returns
// "" for none.
func stricterThanGoJose(token string) string {
	parts := strings.Split(token, ".")
	for _, p := range parts {
		raw, err := base64.RawURLEncoding.DecodeString(p)
		if err == nil && base64.RawURLEncoding.EncodeToString(raw) != p {
			return "non-canonical base64url"
		}
	}
	if len(parts[0]) > maxHeaderLength {
		return "header too long"
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) == nil && members["crit"] != nil {
		return "crit"
	}
	return ""
}

// agreeWithGoJose checks, for token and every differential key, that
// verifyCompact accepts only what go-jose accepts, with the same payload,
// and refuses what go-jose accepts only for a reason of
// stricterThanGoJose.
func agreeWithGoJose(t *testing.T, token string) {
	t.Helper()
	for _, k := range differentialKeys() {
		got, err := verifyCompact(token, k.public)
		want, theirErr := verifyGoJose(token, k.public)
		switch {
		case err == nil && theirErr != nil:
			t.Fatalf("%q with the %s key: accepted, go-jose refuses: %v", token, k.alg, theirErr)
		case err == nil && !bytes.Equal(got, want):
			t.Fatalf("%q with the %s key: payload %q, go-jose's %q", token, k.alg, got, want)
		case err != nil && theirErr == nil && stricterThanGoJose(token) == "":
			t.Fatalf("%q with the %s key: refused (%v), go-jose accepts", token, k.alg, err)
		}
	}
}

// TestCompactJWSMatchesGoJose checks that parse and verify agree with
// go-jose on tokens signed with every kind of key, valid, tampered and
// with header parameters go-jose refuses, and that the seeds fare as
// expected with their own key.
func TestCompactJWSMatchesGoJose(t *testing.T) {
	for _, seed := range differentialSeeds(t) {
		t.Run(seed.name, func(t *testing.T) {
			agreeWithGoJose(t, seed.token)
			_, err := verifyCompact(seed.token, seed.key.public)
			_, theirErr := verifyGoJose(seed.token, seed.key.public)
			if got := err == nil; got != seed.accepted {
				t.Errorf("accepted %v (%v), want %v", got, err, seed.accepted)
			}
			if got, want := theirErr == nil, seed.accepted || seed.stricter; got != want {
				t.Errorf("go-jose accepted %v (%v), want %v", got, theirErr, want)
			}
		})
	}
}

// FuzzCompactJWS checks that for any input, parse and verify with each
// differential key agree with go-jose's ParseSignedCompact and Verify:
// never accepting what go-jose refuses, the same payload when both
// accept, and a refusal of what go-jose accepts only for a reason of
// stricterThanGoJose.
func FuzzCompactJWS(f *testing.F) {
	for _, seed := range differentialSeeds(f) {
		f.Add(seed.token)
	}
	f.Fuzz(func(t *testing.T, token string) {
		agreeWithGoJose(t, token)
	})
}
