package cookie

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/securecookie"
)

// ErrInvalid is matched, via errors.Is, by every error Codec.Decode returns.
var ErrInvalid = errors.New("cookie: invalid value")

// HKDF info prefixes; each names the purpose of a derived key. The
// binding follows them, after a NUL byte (v2 added the binding).
const (
	hashKeyInfo  = "auth-go cookie hmac v2"
	blockKeyInfo = "auth-go cookie aes v2"
)

// Codec encodes values into cookie values and back. A value is an
// encoding.BinaryMarshaler, decoded into an encoding.BinaryUnmarshaler; its
// binary encoding is compressed with s2 behind a format version byte (see
// binarySerializer). It is then encrypted with AES-256-CTR and authenticated with
// HMAC-SHA256 over the cookie name, a timestamp and the ciphertext
// (gorilla/securecookie). The keys are bound to the binding given to
// NewCodec (the app's issuer and client ID): a value decodes only in a Codec
// with the same secret and the same binding, so another app that shares the
// secret cannot read or accept it, and changing the binding invalidates
// every value written before. Create one with NewCodec; a Codec is safe for
// concurrent use.
type Codec struct {
	// codecs holds one codec per secret, in the order given to NewCodec.
	// The first encodes; all decode.
	codecs []*securecookie.SecureCookie
}

// NewCodec returns a Codec for secrets, bound to binding. The first secret
// encodes; every secret decodes, so a new secret can be put first while
// cookies written under the old ones stay readable. Keys are derived from
// each secret and binding here, once, with HKDF-SHA256; the secrets
// themselves are not checked for strength, only for being non-empty.
//
// binding names the application the values belong to; values decode only
// under the same binding, whichever secret wrote them. The caller must
// encode it unambiguously when it joins several fields; it may be empty.
//
// maxAge bounds how old a decoded value's timestamp (set by Encode) may be,
// truncated to whole seconds; zero means no limit. A negative or sub-second
// maxAge is an error.
func NewCodec(secrets []string, binding string, maxAge time.Duration) (*Codec, error) {
	if len(secrets) == 0 {
		return nil, errors.New("cookie: no secret")
	}
	if maxAge < 0 || (maxAge > 0 && maxAge < time.Second) {
		return nil, fmt.Errorf("cookie: max age %v is neither zero nor at least one second", maxAge)
	}
	c := &Codec{codecs: make([]*securecookie.SecureCookie, len(secrets))}
	for i, secret := range secrets {
		if secret == "" {
			return nil, fmt.Errorf("cookie: secret %d is empty", i)
		}
		hashKey, blockKey, err := deriveKeys(secret, binding)
		if err != nil {
			return nil, err
		}
		c.codecs[i] = securecookie.New(hashKey, blockKey).
			MaxLength(0). // A value may span several cookies; see Split.
			MaxAge(int(maxAge / time.Second)).
			SetSerializer(binarySerializer{})
	}
	return c, nil
}

// deriveKeys derives from secret a 32-byte HMAC key and an AES-256 key,
// both bound to binding through the HKDF info.
func deriveKeys(secret, binding string) (hashKey, blockKey []byte, err error) {
	if hashKey, err = hkdf.Key(sha256.New, []byte(secret), nil, hashKeyInfo+"\x00"+binding, 32); err != nil {
		return nil, nil, fmt.Errorf("cookie: deriving HMAC key: %w", err)
	}
	if blockKey, err = hkdf.Key(sha256.New, []byte(secret), nil, blockKeyInfo+"\x00"+binding, 32); err != nil {
		return nil, nil, fmt.Errorf("cookie: deriving AES key: %w", err)
	}
	return hashKey, blockKey, nil
}

// Encode returns v, serialized, as a cookie value for the cookie called
// name, using the first secret. It fails if v cannot be serialized. It
// does not bound the length of the result; see Split.
func (c *Codec) Encode(name string, v any) (string, error) {
	s, err := c.codecs[0].Encode(name, v)
	if err != nil {
		return "", fmt.Errorf("cookie: encoding %q: %w", name, err)
	}
	return s, nil
}

// Decode authenticates value as the cookie called name, checks its age
// against the Codec's max age, decrypts it and deserializes it into v.
// It tries the secrets in order; stale reports that a secret other than the
// first succeeded, so the caller should write the cookie again.
//
// Every error matches ErrInvalid, including a v that the value cannot be
// deserialized into. Decode does not bound the length of value: the HTTP
// server's header limit does.
func (c *Codec) Decode(name, value string, v any) (stale bool, err error) {
	for i, sc := range c.codecs {
		err = sc.Decode(name, value, v)
		if err == nil {
			return i > 0, nil
		}
		// A MAC mismatch may mean another secret; any other failure
		// (malformed input, or an authentic value that cannot be used)
		// would be the same under every secret.
		if !errors.Is(err, securecookie.ErrMacInvalid) {
			break
		}
	}
	return false, fmt.Errorf("%w: %w", ErrInvalid, err)
}
