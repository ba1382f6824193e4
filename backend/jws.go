package backend

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
)

// maxHeaderLength bounds the base64url-encoded protected header of an
// access token: a few hundred bytes in practice, several kilobytes with an
// x5c chain.
const maxHeaderLength = 8 << 10

var (
	errCompactForm  = errors.New("not a JWS in compact serialization")
	errHeaderLength = fmt.Errorf("protected header longer than %d bytes", maxHeaderLength)
	errAlgorithm    = errors.New("algorithm not allowed")
	errSignature    = errors.New("signature does not verify")
)

// compactJWS is a JWS in compact serialization (RFC 7515 section 7.1),
// parsed but not verified.
//
// The backend parses the access tokens it receives itself rather than with
// jose.ParseSignedCompact, which decodes every header into maps and keeps
// copies of each part: on a first validation that cost more than the rest
// of the validation put together. go-jose still decides what a header is:
// a header not seen before goes through jose.ParseSignedCompact once, and
// a header that verified is remembered, so that the next tokens, which
// repeat it byte for byte, are read without it. The keys are go-jose's
// JSONWebKeys, parsed by internal/provider, and the signature is checked
// by the crypto/rsa, crypto/ecdsa or crypto/ed25519 primitive the key
// already is, with the hash and encoding go-jose uses (RFC 7518 section
// 3): no cryptography is written here. Header parameters other than alg,
// kid, typ and crit are not read: the keys come from the provider, never
// from a jwk or x5c header, and an unencoded payload (b64, RFC 7797) must
// be named in crit, which is refused.
//
// TestCompactJWSMatchesGoJose and FuzzCompactJWS check that parse and
// verify accept only what go-jose's ParseSignedCompact and Verify accept,
// with the same payload, and refuse what go-jose accepts only on purpose:
// a crit parameter, a part not in canonical base64url (go-jose skips line
// breaks and ignores the last character's unused bits), or a header over
// maxHeaderLength.
type compactJWS struct {
	header        jwsHeader
	encodedHeader string
	signingInput  string // the encoded header and payload, what the signature covers
	payload       string // decoded
	signature     []byte
}

// jwsHeader is the protected header of an access token. It is decoded
// with go-jose's JSON package, which matches names case-sensitively and
// refuses duplicate names, as go-jose does for its own headers.
type jwsHeader struct {
	Alg jose.SignatureAlgorithm `json:"alg"`
	Kid string                  `json:"kid"`
	// Typ is any JSON value, for the typ policy to refuse one that is not
	// a string.
	Typ any `json:"typ"`
	// Crit is kept raw: its presence, whatever its value, refuses the
	// token.
	Crit josejson.RawMessage `json:"crit"`
}

// jwtParser parses the access tokens of one Client. It remembers the
// protected header of the last token whose signature verified: a provider
// signs every access token with the same header until it rotates its key,
// so most first validations decode no JSON but the claims. A forged token
// never replaces the header remembered, and a header remembered is only
// reused for a token whose encoded header is byte for byte the same.
type jwtParser struct {
	algs  []jose.SignatureAlgorithm
	known atomic.Pointer[knownHeader]
}

// knownHeader is a protected header, encoded and decoded.
type knownHeader struct {
	encoded string
	header  jwsHeader
}

// parse parses token, reusing the header remembered if token has it.
func (p *jwtParser) parse(token string) (compactJWS, error) {
	return parseCompactJWS(token, p.algs, p.known.Load())
}

// remember keeps the header of jws, whose signature verified.
func (p *jwtParser) remember(jws *compactJWS) {
	if k := p.known.Load(); k == nil || k.encoded != jws.encodedHeader {
		p.known.Store(&knownHeader{encoded: strings.Clone(jws.encodedHeader), header: jws.header})
	}
}

// parseCompactJWS splits token into its three parts, decodes them, each
// unpadded base64url (RFC 7515 section 2) without line breaks
// (decodeBase64URL), the payload into a buffer of its own and the
// signature and header into another, decodes the header (unless it is
// known's), and checks that it names an algorithm of algs.
func parseCompactJWS(token string, algs []jose.SignatureAlgorithm, known *knownHeader) (compactJWS, error) {
	header, rest, ok := strings.Cut(token, ".")
	if !ok {
		return compactJWS{}, errCompactForm
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(sig, '.') >= 0 {
		return compactJWS{}, errCompactForm
	}
	if len(header) > maxHeaderLength {
		return compactJWS{}, errHeaderLength
	}
	jws := compactJWS{encodedHeader: header, signingInput: token[:len(header)+1+len(payload)]}
	isKnown := known != nil && known.encoded == header
	size := len(sig)
	if !isKnown {
		size += len(header)
	}
	// The payload is decoded into a buffer of its own, which no one
	// writes to after, and kept as a string over it: the claims decoded
	// from it share its memory rather than copy it again, and keep
	// nothing else alive (the signature and header share another).
	payloadBuf := make([]byte, base64.RawURLEncoding.DecodedLen(len(payload)))
	n, err := decodeBase64URL(payloadBuf, payload)
	if err != nil {
		return compactJWS{}, fmt.Errorf("payload: %w", err)
	}
	jws.payload = unsafe.String(unsafe.SliceData(payloadBuf), n)
	buf := make([]byte, base64.RawURLEncoding.DecodedLen(size))
	decode := func(part, name string) ([]byte, error) {
		n, err := decodeBase64URL(buf, part)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out := buf[:n:n]
		buf = buf[n:]
		return out, nil
	}
	if jws.signature, err = decode(sig, "signature"); err != nil {
		return compactJWS{}, err
	}
	if isKnown {
		jws.header = known.header
		return jws, nil
	}
	rawHeader, err := decode(header, "header")
	if err != nil {
		return compactJWS{}, err
	}
	h := new(jwsHeader) // on the heap only when the header is not known
	if err := josejson.Unmarshal(rawHeader, h); err != nil {
		return compactJWS{}, fmt.Errorf("header: %w", err)
	}
	if !slices.Contains(algs, h.Alg) {
		return compactJWS{}, fmt.Errorf("%w: %q", errAlgorithm, h.Alg)
	}
	// A header not seen before goes through go-jose's parser too, so
	// that what go-jose refuses in a header, such as an embedded jwk that
	// is not a public key or an x5c that is not a certificate chain, is
	// refused here: this parser reads fewer header parameters, it does
	// not accept more headers.
	if _, err := jose.ParseSignedCompact(token, algs); err != nil {
		return compactJWS{}, fmt.Errorf("header: %w", err)
	}
	jws.header = *h
	return jws, nil
}

// verifyWith checks the signature of jws with each of keys in turn (the
// candidates for its kid and alg), hashing the signing input once.
func (jws *compactJWS) verifyWith(keys []jose.JSONWebKey) error {
	alg := jws.header.Alg
	hash := hashOf(alg)
	digest := digestOf(hash, bytesOf(jws.signingInput))
	for _, k := range keys {
		if verifySignature(k.Key, alg, hash, digest, jws.signingInput, jws.signature) {
			return nil
		}
	}
	return errSignature
}

// digestOf returns the hash of msg, nil for 0, with the fixed-size sums
// of crypto/sha256 and crypto/sha512, which need no hash.Hash.
func digestOf(hash crypto.Hash, msg []byte) []byte {
	switch hash {
	case crypto.SHA256:
		sum := sha256.Sum256(msg)
		return sum[:]
	case crypto.SHA384:
		sum := sha512.Sum384(msg)
		return sum[:]
	case crypto.SHA512:
		sum := sha512.Sum512(msg)
		return sum[:]
	}
	return nil
}

// hashOf returns the hash alg signs (RFC 7518 section 3.1), or 0 for
// EdDSA, which hashes the message itself.
func hashOf(alg jose.SignatureAlgorithm) crypto.Hash {
	switch alg {
	case jose.RS256, jose.PS256, jose.ES256:
		return crypto.SHA256
	case jose.RS384, jose.PS384, jose.ES384:
		return crypto.SHA384
	case jose.RS512, jose.PS512, jose.ES512:
		return crypto.SHA512
	}
	return 0
}

// ecdsaSizes are the sizes of r and s in ECDSA signatures by algorithm
// (RFC 7518 section 3.4).
var ecdsaSizes = map[jose.SignatureAlgorithm]int{jose.ES256: 32, jose.ES384: 48, jose.ES512: 66}

// verifySignature reports whether sig is key's signature by alg of the
// message, whose hash digest is. It calls the primitives as go-jose's
// verifiers do: PKCS #1 v1.5 and PSS with the salt length detected (RFC
// 7518 sections 3.3 and 3.5), ECDSA with r and s each of the curve's size
// (section 3.4), Ed25519 on the message (RFC 8037 section 3.1).
func verifySignature(key any, alg jose.SignatureAlgorithm, hash crypto.Hash, digest []byte, msg string, sig []byte) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512:
			return rsa.VerifyPKCS1v15(k, hash, digest, sig) == nil
		case jose.PS256, jose.PS384, jose.PS512:
			return rsa.VerifyPSS(k, hash, digest, sig, nil) == nil
		}
	case *ecdsa.PublicKey:
		size := ecdsaSizes[alg]
		if size == 0 || len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s)
	case ed25519.PublicKey:
		return alg == jose.EdDSA && ed25519.Verify(k, bytesOf(msg), sig)
	}
	return false
}
