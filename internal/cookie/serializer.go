package cookie

import (
	"encoding"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
)

// A serialized value is the byte binaryHeader followed by the s2 block
// compression (github.com/klauspost/compress/s2) of what the value's
// MarshalBinary returns. It is decoded with UnmarshalBinary.
const (
	// binaryHeader starts every value: the format version in the upper
	// bits, 2<<3 | 0b110. (Version 1, never released, was DEFLATE, whose
	// first byte never has bits 1 and 2 both set: values of that version
	// are refused.)
	binaryHeader = 0x16

	// maxPayload bounds the decompressed payload, so a small authentic but
	// hostile value cannot make Deserialize allocate without limit.
	maxPayload = 1 << 20
)

var (
	errMalformed = errors.New("cookie: malformed payload")

	// scratch holds buffers for the decompressed values.
	scratch = sync.Pool{New: func() any { return new([]byte) }}
)

// binarySerializer is the securecookie.Serializer of Codec. It encodes an
// encoding.BinaryMarshaler and decodes into an encoding.BinaryUnmarshaler.
type binarySerializer struct{}

// Serialize returns the serialized value of v, which must be an
// encoding.BinaryMarshaler.
func (binarySerializer) Serialize(v any) ([]byte, error) {
	m, ok := v.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("cookie: %T is not an encoding.BinaryMarshaler", v)
	}
	p, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("cookie: encoding: %w", err)
	}
	if len(p) > maxPayload {
		return nil, fmt.Errorf("cookie: %d bytes to encode, more than %d", len(p), maxPayload)
	}
	dst := make([]byte, 1+s2.MaxEncodedLen(len(p)))
	dst[0] = binaryHeader
	return dst[:1+len(s2.Encode(dst[1:], p))], nil
}

// Deserialize decodes data into v, which must be an
// encoding.BinaryUnmarshaler. It checks the payload's structure and bounds
// its size; authenticating data is the caller's job.
func (binarySerializer) Deserialize(data []byte, v any) error {
	u, ok := v.(encoding.BinaryUnmarshaler)
	if !ok {
		return fmt.Errorf("cookie: %T is not an encoding.BinaryUnmarshaler", v)
	}
	if len(data) == 0 || data[0] != binaryHeader {
		return fmt.Errorf("%w: unknown format version", errMalformed)
	}
	block := data[1:]
	n, err := s2.DecodedLen(block)
	if err != nil {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	if n > maxPayload {
		return fmt.Errorf("%w: %d bytes compressed, more than %d", errMalformed, n, maxPayload)
	}
	buf := scratch.Get().(*[]byte)
	defer scratch.Put(buf)
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	// UnmarshalBinary keeps no reference to p, by the contract of
	// encoding.BinaryUnmarshaler, so buf is free again once it returns.
	p, err := s2.Decode((*buf)[:n], block)
	if err != nil {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	if err := u.UnmarshalBinary(p); err != nil {
		return fmt.Errorf("cookie: decoding: %w", err)
	}
	return nil
}
