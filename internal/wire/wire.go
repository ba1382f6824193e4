// Package wire is a compact binary encoding for the session cookie: a
// Writer and a Reader of unsigned and signed varints, strings, tokens (JWTs
// and opaque ones) kept as the bytes their text encodes, and JSON-shaped values (claims) in a small tagged
// encoding.
//
// A payload is
//
//	strings    a uvarint length, then the contents of every string written,
//	           in order
//	structure  everything else, in order
//
// Strings are kept apart so that a Reader copies them all into one string,
// once, and returns slices of it. In the structure:
//
//	Byte       one byte
//	Uvarint    binary.AppendUvarint, in its shortest form
//	Varint     binary.AppendVarint (zigzag), in its shortest form
//	Bool       a Byte, 0 or 1
//	Str        its length as a Uvarint; its content is in the strings
//	Token      a kind, then by kind:
//	             tokenJWS     for a JWS compact serialization (RFC 7515 §7.1)
//	                          whose segments re-encode to exactly itself: its
//	                          header, payload and signature, each a Uvarint
//	                          length and the base64url-decoded bytes
//	             tokenHex     for lowercase hex: a Uvarint length and the
//	                          bytes it encodes
//	             tokenBase64  for other unpadded base64url text that
//	                          re-encodes to exactly itself: the same
//	             tokenText    for anything else, the empty string included:
//	                          a Str
//	Value      a tag, then by tag:
//	             tagNull, tagFalse, tagTrue  nothing
//	             tagInt     a Varint
//	             tagFloat   8 bytes, the IEEE 754 bits, little-endian
//	             tagString  a Str
//	             tagArray   a Uvarint count, then as many Values
//	             tagObject  a Uvarint count, then as many pairs of a Str key
//	                        and a Value, keys in strictly increasing order
//
// Every value has exactly one encoding, and a Reader accepts no other: a
// number is tagInt when it is integral, not -0 and an int64, otherwise
// tagFloat. So whatever a Reader accepts, a Writer writes back byte for
// byte.
package wire

import "errors"

// ErrMalformed is matched, via errors.Is, by every error of a Reader.
var ErrMalformed = errors.New("wire: malformed payload")

// MaxDepth bounds the nesting of arrays and objects in a Value, as
// encoding/json bounds it, so any claims JSON could hold can be written.
const MaxDepth = 10000

// Value tags.
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagArray
	tagObject
)

// jwsPrefix is the base64url of `{"`, how compact JWS headers start.
const jwsPrefix = "eyJ"

// Token kinds.
const (
	tokenText byte = iota
	tokenJWS
	tokenHex
	tokenBase64
)
