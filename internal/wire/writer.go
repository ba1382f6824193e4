package wire

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// strictBase64 rejects the non-zero padding bits RawURLEncoding ignores, so
// only canonically encoded segments are stored as bytes.
var strictBase64 = base64.RawURLEncoding.Strict()

// A Writer builds a payload. The zero value is ready to use. Its methods
// record the first error, which Bytes returns.
type Writer struct {
	buf  []byte // the structure
	strs []byte // the strings
	err  error
}

// Byte writes b.
func (w *Writer) Byte(b byte) { w.buf = append(w.buf, b) }

// Bool writes b as 0 or 1.
func (w *Writer) Bool(b bool) {
	if b {
		w.Byte(1)
	} else {
		w.Byte(0)
	}
}

// Uvarint writes x.
func (w *Writer) Uvarint(x uint64) { w.buf = binary.AppendUvarint(w.buf, x) }

// Varint writes x.
func (w *Writer) Varint(x int64) { w.buf = binary.AppendVarint(w.buf, x) }

// Str writes s.
func (w *Writer) Str(s string) {
	w.Uvarint(uint64(len(s)))
	w.strs = append(w.strs, s...)
}

// Token writes s, a token: a JWS compact serialization as its decoded
// parts, lowercase hex or unpadded base64url text as the bytes it encodes,
// anything else as text.
func (w *Writer) Token(s string) {
	if b, ok := appendTokenBytes(w.buf, s); ok {
		w.buf = b
		return
	}
	w.Byte(tokenText)
	w.Str(s)
}

// appendTokenBytes appends to dst the kind and the bytes of token s, and
// reports whether s is other than text.
func appendTokenBytes(dst []byte, s string) ([]byte, bool) {
	if b, ok := AppendJWS(append(dst, tokenJWS), s); ok {
		return b, true
	}
	if s == "" {
		return dst, false
	}
	kind, n := tokenBase64, base64.RawURLEncoding.DecodedLen(len(s))
	if isHex(s) {
		kind, n = tokenHex, len(s)/2
	}
	b := binary.AppendUvarint(append(dst, kind), uint64(n))
	start := len(b)
	// Direct calls, not through a func value, so that []byte(s) does not
	// copy s.
	var err error
	if kind == tokenHex {
		b, err = hex.AppendDecode(b, []byte(s))
	} else {
		b, err = strictBase64.AppendDecode(b, []byte(s))
	}
	// The base64 decoder skips line breaks; the lengths reject them.
	if err != nil || len(b)-start != n || kind == tokenBase64 && base64.RawURLEncoding.EncodedLen(n) != len(s) {
		return dst, false
	}
	return b, true
}

// isHex reports whether s is lowercase hex of whole bytes.
func isHex[S string | []byte](s S) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// AppendJWS appends to dst the header, payload and signature of s, each a
// uvarint length followed by its base64url-decoded bytes, if s is a JWS
// compact serialization (RFC 7515 §7.1) whose three segments re-encode to
// exactly s. Otherwise it returns dst unchanged and false. The header's
// JSON is not parsed: a header that starts with `{"` is enough.
func AppendJWS(dst []byte, s string) ([]byte, bool) {
	if !strings.HasPrefix(s, jwsPrefix) {
		return dst, false
	}
	header, rest, ok1 := strings.Cut(s, ".")
	payload, signature, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(signature, ".") {
		return dst, false
	}
	out := dst
	for _, seg := range [...]string{header, payload, signature} {
		n := base64.RawURLEncoding.DecodedLen(len(seg))
		out = binary.AppendUvarint(out, uint64(n))
		start := len(out)
		var err error
		out, err = strictBase64.AppendDecode(out, []byte(seg))
		// The decoder skips line breaks; the lengths reject them.
		if err != nil || len(out)-start != n || base64.RawURLEncoding.EncodedLen(n) != len(seg) {
			return dst, false
		}
	}
	return out, true
}

// Map writes m as a Value: tagNull when it is nil, else tagObject. Its
// values must be JSON-shaped: nil, a bool, a string, a float64, a []any or
// a map[string]any holding such values. Any other value is written as
// encoding/json would decode its JSON encoding, so a Reader returns what a
// JSON round trip would have; values JSON cannot encode (NaN, channels, …)
// are errors, as are arrays and objects nested deeper than MaxDepth.
func (w *Writer) Map(m map[string]any) { w.value(m, 0) }

// value writes v, at depth, as a Value: see Map.
func (w *Writer) value(v any, depth int) {
	if w.err != nil {
		return
	}
	switch v := v.(type) {
	case nil:
		w.Byte(tagNull)
	case bool:
		if v {
			w.Byte(tagTrue)
		} else {
			w.Byte(tagFalse)
		}
	case string:
		w.Byte(tagString)
		w.Str(v)
	case float64:
		w.number(v)
	case []any:
		if v == nil { // as JSON encodes it
			w.Byte(tagNull)
			return
		}
		if !w.nest(depth) {
			return
		}
		w.Byte(tagArray)
		w.Uvarint(uint64(len(v)))
		for _, e := range v {
			w.value(e, depth+1)
		}
	case map[string]any:
		if v == nil {
			w.Byte(tagNull)
			return
		}
		if !w.nest(depth) {
			return
		}
		w.Byte(tagObject)
		w.Uvarint(uint64(len(v)))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			w.Str(k)
			w.value(v[k], depth+1)
		}
	default:
		w.viaJSON(v, depth)
	}
}

// nest reports whether an array or object may start at depth, recording
// an error if not.
func (w *Writer) nest(depth int) bool {
	if depth >= MaxDepth {
		w.err = fmt.Errorf("wire: value nested deeper than %d", MaxDepth)
		return false
	}
	return true
}

// number writes f canonically: see the package doc.
func (w *Writer) number(f float64) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		w.err = fmt.Errorf("wire: unsupported number %v", f)
	case isInt(f):
		w.Byte(tagInt)
		w.Varint(int64(f))
	default:
		w.Byte(tagFloat)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(f))
	}
}

// isInt reports whether f is written as tagInt: integral, not -0, and in
// int64's range.
func isInt(f float64) bool {
	return f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 &&
		!(f == 0 && math.Signbit(f))
}

// viaJSON writes v as encoding/json decodes its JSON encoding.
func (w *Writer) viaJSON(v any, depth int) {
	js, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("wire: encoding %T: %w", v, err)
		return
	}
	var decoded any
	if err := json.Unmarshal(js, &decoded); err != nil {
		w.err = fmt.Errorf("wire: decoding the JSON of %T: %w", v, err)
		return
	}
	w.value(decoded, depth)
}

// Bytes returns the payload written, or the first error met.
func (w *Writer) Bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	p := make([]byte, 0, binary.MaxVarintLen64+len(w.strs)+len(w.buf))
	p = binary.AppendUvarint(p, uint64(len(w.strs)))
	p = append(p, w.strs...)
	return append(p, w.buf...), nil
}
