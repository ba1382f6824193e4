package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
)

// A Reader reads a payload written by a Writer, in the order it was
// written. Its methods return zero values once one has failed; Done
// reports the first failure. A Reader checks the payload's structure, not
// its authenticity.
type Reader struct {
	buf  []byte // the structure left to read
	strs string // the strings left to read
	err  error
}

// NewReader returns a Reader of payload p. The strings it returns share
// one copy of p's strings; p itself must not change while the Reader is
// used.
func NewReader(p []byte) Reader {
	var r Reader
	n, k := shortestUvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		r.fail("bad strings length")
		return r
	}
	r.strs = string(p[k : k+int(n)])
	r.buf = p[k+int(n):]
	return r
}

// fail records the first error.
func (r *Reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	r.buf, r.strs = nil, ""
}

// Done returns the first error met, or an error if anything is left
// unread.
func (r *Reader) Done() error {
	if r.err == nil && (len(r.buf) > 0 || len(r.strs) > 0) {
		r.fail("%d bytes and %d of strings left over", len(r.buf), len(r.strs))
	}
	return r.err
}

// Byte reads a byte.
func (r *Reader) Byte() byte {
	if len(r.buf) == 0 {
		r.fail("unexpected end")
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

// Bool reads a Bool.
func (r *Reader) Bool() bool {
	switch r.Byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("bad bool")
	return false
}

// shortestUvarint is binary.Uvarint, failing (k = 0) for all but the
// shortest form of x.
func shortestUvarint(p []byte) (x uint64, k int) {
	x, k = binary.Uvarint(p)
	// A last byte of 0 after others is a longer form than needed.
	if k > 1 && p[k-1] == 0 {
		return 0, 0
	}
	return x, k
}

// Uvarint reads a Uvarint.
func (r *Reader) Uvarint() uint64 {
	x, k := shortestUvarint(r.buf)
	if k <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.buf = r.buf[k:]
	return x
}

// Varint reads a Varint.
func (r *Reader) Varint() int64 {
	ux, k := shortestUvarint(r.buf)
	if k <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.buf = r.buf[k:]
	// The zigzag decoding of binary.Varint.
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

// Count reads a Uvarint count of items that each take at least size bytes
// of the structure, failing if fewer bytes are left, so that a count can
// size an allocation.
func (r *Reader) Count(size int) int {
	n := r.Uvarint()
	if n > uint64(len(r.buf)/size) {
		r.fail("count %d exceeds the %d bytes left", n, len(r.buf))
		return 0
	}
	return int(n)
}

// Str reads a Str. It does not allocate.
func (r *Reader) Str() string {
	n := r.Uvarint()
	if n > uint64(len(r.strs)) {
		r.fail("string length %d exceeds the %d bytes left", n, len(r.strs))
		return ""
	}
	s := r.strs[:n]
	r.strs = r.strs[n:]
	return s
}

// segment reads a Uvarint length and as many bytes of the structure.
func (r *Reader) segment() []byte {
	n := r.Uvarint()
	if n > uint64(len(r.buf)) {
		r.fail("segment length %d exceeds the %d bytes left", n, len(r.buf))
		return nil
	}
	seg := r.buf[:n]
	r.buf = r.buf[n:]
	return seg
}

// Token reads a Token. A token stored as bytes costs one allocation.
func (r *Reader) Token() string {
	enc := base64.RawURLEncoding
	// Most tokens fit the stack buffer, and string copies them once.
	b := make([]byte, 0, 2048)
	switch kind := r.Byte(); kind {
	case tokenText:
		s := r.Str()
		if _, ok := appendTokenBytes(b, s); ok { // b keeps this off the heap
			r.fail("token %q stored as text", s)
			return ""
		}
		return s
	case tokenJWS:
		header, payload, signature := r.segment(), r.segment(), r.segment()
		b = enc.AppendEncode(b, header)
		b = append(b, '.')
		b = enc.AppendEncode(b, payload)
		b = append(b, '.')
		b = enc.AppendEncode(b, signature)
		if !bytes.HasPrefix(b, []byte(jwsPrefix)) {
			r.fail("JWS header does not start with {\"")
		}
	case tokenHex:
		b = hex.AppendEncode(b, r.segment())
		if len(b) == 0 {
			r.fail("empty hex token")
		}
	case tokenBase64:
		b = enc.AppendEncode(b, r.segment())
		if len(b) == 0 || isHex(b) {
			r.fail("token stored as base64url, not as hex")
		}
	default:
		r.fail("unknown token kind %d", kind)
	}
	if r.err != nil {
		return ""
	}
	return string(b)
}

// Map reads a Value that must be tagNull, read as nil, or tagObject.
func (r *Reader) Map() map[string]any {
	if !r.mapNext() {
		return nil
	}
	m, _ := r.value(0, true).(map[string]any)
	return m
}

// mapNext reports whether the next Value may be read by Map, failing if it
// is neither tagNull nor tagObject.
func (r *Reader) mapNext() bool {
	if len(r.buf) > 0 && r.buf[0] != tagNull && r.buf[0] != tagObject {
		r.fail("value is neither null nor an object")
		return false
	}
	return true
}

// value reads and checks a Value: nil, a bool, a string, a float64, a
// []any or a map[string]any, as encoding/json decodes JSON into an any. It
// returns it when keep is set; else it returns nil and allocates nothing.
func (r *Reader) value(depth int, keep bool) any {
	switch tag := r.Byte(); tag {
	case tagNull:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt:
		i := r.Varint()
		f := float64(i)
		if f >= 1<<63 || int64(f) != i {
			r.fail("integer %d is not a float64", i)
			return nil
		}
		if keep {
			return f
		}
	case tagFloat:
		if len(r.buf) < 8 {
			r.fail("short float")
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(r.buf))
		r.buf = r.buf[8:]
		if math.IsNaN(f) || math.IsInf(f, 0) || isInt(f) {
			r.fail("float %v", f)
			return nil
		}
		if keep {
			return f
		}
	case tagString:
		s := r.Str()
		if keep {
			return s
		}
	case tagArray:
		if depth >= MaxDepth {
			r.fail("nested deeper than %d", MaxDepth)
			return nil
		}
		n := r.Count(1)
		if !keep {
			for range n {
				r.value(depth+1, false)
			}
			return nil
		}
		a := make([]any, n)
		for i := range a {
			a[i] = r.value(depth+1, true)
		}
		return a
	case tagObject:
		if depth >= MaxDepth {
			r.fail("nested deeper than %d", MaxDepth)
			return nil
		}
		n := r.Count(2) // a key's length and a tag
		var m map[string]any
		if keep {
			m = make(map[string]any, n)
		}
		prev := ""
		for i := range n {
			k := r.Str()
			if i > 0 && k <= prev {
				r.fail("object keys out of order")
				return nil
			}
			v := r.value(depth+1, keep)
			if keep {
				m[k] = v
			}
			prev = k
		}
		if keep {
			return m
		}
	default:
		r.fail("unknown tag %d", tag)
	}
	return nil
}
