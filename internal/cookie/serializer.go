package cookie

import (
	"bytes"
	"compress/flate"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/s2"
)

// A serialized value has one of two formats.
//
// Version 2, for values that implement encoding.BinaryMarshaler (the
// session), is the byte binaryHeader followed by the s2 block compression
// (github.com/klauspost/compress/s2) of what MarshalBinary returns. It is
// decoded with UnmarshalBinary, into a value that implements
// encoding.BinaryUnmarshaler.
//
// Version 1, for every other value (the sign-in state) and what every
// value was before version 2, is the DEFLATE (RFC 1951) compression of the
// payload
//
//	version  formatVersion, one byte
//	json     uvarint length, then the JSON encoding of the value in which the
//	         content of every string holding a JWS compact serialization
//	         (RFC 7515 §7.1) is replaced by marker
//	tokens   for each replaced string, in order, its three segments (header,
//	         payload, signature), each a uvarint length followed by the
//	         base64url-decoded bytes
//
// Decoding the segments lets the JWT claims, which repeat the user's claims
// stored next to them, compress as JSON, and stores signatures as raw bytes.
// An empty token section means nothing was replaced: it is how values whose
// JSON already contains marker round-trip. A value that implements
// encoding.BinaryUnmarshaler still decodes from version 1, as JSON, so
// session cookies written before version 2 stay valid.
const (
	formatVersion = 1

	// binaryHeader starts a version 2 value. The first byte of a DEFLATE
	// stream, and so of a version 1 value, never has bits 1 and 2 both set:
	// that is the reserved block type. binaryHeader has them set, and
	// the version in its upper bits: 2<<3 | 0b110.
	binaryHeader = 0x16

	// flateLevel was chosen with BenchmarkFlateLevel. On a realistic
	// session it compresses 4% smaller than BestSpeed for 14µs more per
	// Encode, a fair trade for bytes sent with every request;
	// BestCompression is no smaller and slower on larger sessions.
	flateLevel = flate.DefaultCompression

	// maxPayload bounds the inflated payload, so a small authentic but
	// hostile value cannot make Deserialize allocate without limit.
	maxPayload = 1 << 20
)

var (
	// marker is how json.Marshal escapes U+0000, so real JSON seldom
	// contains it.
	marker    = []byte(`\u0000`)
	jwsPrefix = []byte("eyJ") // base64url of `{"`, how compact JWS headers start
	dot       = []byte(".")

	// strictBase64 rejects the non-zero padding bits RawURLEncoding
	// ignores, so only canonically encoded segments are extracted.
	strictBase64 = base64.RawURLEncoding.Strict()

	errMalformed = errors.New("cookie: malformed payload")

	writers sync.Pool // of *flate.Writer at flateLevel
	readers sync.Pool // of io.ReadCloser from flate.NewReader

	// scratch holds buffers for the decompressed version 2 values.
	scratch = sync.Pool{New: func() any { return new([]byte) }}
)

// compactSerializer is the securecookie.Serializer of Codec. It accepts an
// encoding.BinaryMarshaler or any value json.Marshal accepts, and decodes
// into an encoding.BinaryUnmarshaler or anything json.Unmarshal decodes
// into.
type compactSerializer struct{}

// Serialize returns the version 2 value of v if v is an
// encoding.BinaryMarshaler, else its version 1 value.
func (compactSerializer) Serialize(v any) ([]byte, error) {
	if m, ok := v.(encoding.BinaryMarshaler); ok {
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
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cookie: encoding JSON: %w", err)
	}
	return deflate(pack(js))
}

// Deserialize decodes data into v. It checks the payload's structure and
// bounds its size; authenticating data is the caller's job.
func (compactSerializer) Deserialize(data []byte, v any) error {
	if len(data) > 0 && data[0] == binaryHeader {
		u, ok := v.(encoding.BinaryUnmarshaler)
		if !ok {
			return fmt.Errorf("%w: a binary value for a %T", errMalformed, v)
		}
		return unmarshalBinary(data[1:], u)
	}
	p, err := inflate(data)
	if err != nil {
		return err
	}
	js, err := unpack(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(js, v); err != nil {
		return fmt.Errorf("cookie: decoding JSON: %w", err)
	}
	return nil
}

// unmarshalBinary decompresses block, s2-compressed, into u.
func unmarshalBinary(block []byte, u encoding.BinaryUnmarshaler) error {
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

// pack returns the payload of js, the output of json.Marshal.
func pack(js []byte) []byte {
	var (
		tokens []byte
		spans  [][2]int // of replaced string contents in js
	)
	if !bytes.Contains(js, marker) {
		tokens, spans = extractTokens(js)
	}
	n := len(js)
	for _, s := range spans {
		n += len(marker) - (s[1] - s[0])
	}
	dst := make([]byte, 0, 1+binary.MaxVarintLen64+n+len(tokens))
	dst = append(dst, formatVersion)
	dst = binary.AppendUvarint(dst, uint64(n))
	last := 0
	for _, s := range spans {
		dst = append(dst, js[last:s[0]]...)
		dst = append(dst, marker...)
		last = s[1]
	}
	dst = append(dst, js[last:]...)
	return append(dst, tokens...)
}

// extractTokens returns the token section of the payload for js and the
// spans of js holding the contents of the strings it encodes.
func extractTokens(js []byte) (tokens []byte, spans [][2]int) {
	for i := 0; i < len(js); i++ {
		if js[i] != '"' {
			continue
		}
		end := closingQuote(js, i+1)
		if end < 0 {
			break
		}
		if t, ok := appendToken(tokens, js[i+1:end]); ok {
			tokens = t
			spans = append(spans, [2]int{i + 1, end})
		}
		i = end
	}
	return tokens, spans
}

// closingQuote returns the index of the quote ending the JSON string whose
// content starts at js[i], or -1.
func closingQuote(js []byte, i int) int {
	for i < len(js) {
		switch js[i] {
		case '"':
			return i
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return -1
}

// appendToken appends the segments of s to dst if s, the raw content of a
// JSON string, is a JWS compact serialization whose three segments re-encode
// to exactly s. Otherwise it returns dst unchanged and false.
func appendToken(dst, s []byte) ([]byte, bool) {
	if !bytes.HasPrefix(s, jwsPrefix) {
		return dst, false
	}
	header, rest, ok1 := bytes.Cut(s, dot)
	payload, signature, ok2 := bytes.Cut(rest, dot)
	if !ok1 || !ok2 || bytes.Contains(signature, dot) {
		return dst, false
	}
	out := dst
	for _, seg := range [...][]byte{header, payload, signature} {
		n := base64.RawURLEncoding.DecodedLen(len(seg))
		out = binary.AppendUvarint(out, uint64(n))
		start := len(out)
		var err error
		out, err = strictBase64.AppendDecode(out, seg)
		// The decoder skips line breaks; the lengths reject them.
		if err != nil || len(out)-start != n || base64.RawURLEncoding.EncodedLen(n) != len(seg) {
			return dst, false
		}
	}
	return out, true
}

// unpack returns the JSON of payload p, with its tokens restored.
func unpack(p []byte) ([]byte, error) {
	if len(p) == 0 || p[0] != formatVersion {
		return nil, fmt.Errorf("%w: unknown format version", errMalformed)
	}
	js, tokens, err := nextSegment(p[1:])
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return js, nil
	}
	// Each token byte becomes at most two: base64 makes 4 of 3, and the
	// dots and rounding are paid for by the length prefixes.
	out := make([]byte, 0, len(js)+2*len(tokens))
	for len(tokens) > 0 {
		i := bytes.Index(js, marker)
		if i < 0 {
			return nil, fmt.Errorf("%w: more tokens than markers", errMalformed)
		}
		out = append(out, js[:i]...)
		js = js[i+len(marker):]
		for k := range 3 {
			var seg []byte
			if seg, tokens, err = nextSegment(tokens); err != nil {
				return nil, err
			}
			if k > 0 {
				out = append(out, '.')
			}
			out = base64.RawURLEncoding.AppendEncode(out, seg)
		}
	}
	if bytes.Contains(js, marker) {
		return nil, fmt.Errorf("%w: more markers than tokens", errMalformed)
	}
	return append(out, js...), nil
}

// nextSegment splits the uvarint-length-prefixed segment off the front of p.
func nextSegment(p []byte) (seg, rest []byte, err error) {
	n, k := binary.Uvarint(p)
	if k <= 0 {
		return nil, nil, fmt.Errorf("%w: bad segment length", errMalformed)
	}
	p = p[k:]
	if n > uint64(len(p)) {
		return nil, nil, fmt.Errorf("%w: segment length %d exceeds the %d bytes left", errMalformed, n, len(p))
	}
	return p[:n], p[n:], nil
}

// deflate returns p compressed at flateLevel.
func deflate(p []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(p))
	zw, _ := writers.Get().(*flate.Writer)
	if zw == nil {
		var err error
		if zw, err = flate.NewWriter(&buf, flateLevel); err != nil {
			return nil, fmt.Errorf("cookie: compressing: %w", err)
		}
	} else {
		zw.Reset(&buf)
	}
	defer writers.Put(zw)
	if _, err := zw.Write(p); err != nil {
		return nil, fmt.Errorf("cookie: compressing: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("cookie: compressing: %w", err)
	}
	return buf.Bytes(), nil
}

// inflate returns data decompressed, failing if that exceeds maxPayload.
func inflate(data []byte) ([]byte, error) {
	src := bytes.NewReader(data)
	zr, _ := readers.Get().(io.ReadCloser)
	if zr == nil {
		zr = flate.NewReader(src)
	} else if err := zr.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, fmt.Errorf("cookie: decompressing: %w", err)
	}
	defer readers.Put(zr)
	p, err := io.ReadAll(io.LimitReader(zr, maxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("cookie: decompressing: %w", err)
	}
	if len(p) > maxPayload {
		return nil, fmt.Errorf("%w: more than %d bytes decompressed", errMalformed, maxPayload)
	}
	return p, nil
}
