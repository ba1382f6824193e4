// Package claimsjson decodes the claims of a JWT, a JSON object, into the
// map[string]any that encoding/json would build, numbers as float64, at a
// fraction of its cost: the claims' JSON was the largest part of a first
// validation's work besides the signature.
//
// Decode accepts exactly what the JSON v2 package
// (github.com/go-json-experiment/json, encoding/json/v2) accepts when it
// unmarshals into an any, and builds the same value: JSON as RFC 8259
// defines it, valid UTF-8 (no invalid byte, no unpaired surrogate escape),
// member names unique in each object once unescaped (a token with two aud
// claims means one thing to one parser and another to the next), numbers
// within float64's range, and at most 10000 nested arrays and objects.
// FuzzDecode holds it to that package and to encoding/json.
package claimsjson

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is the nesting the JSON v2 package allows.
const maxDepth = 10000

// ErrNotObject is returned for JSON that is valid but not an object.
var ErrNotObject = errors.New("claims: not a JSON object")

// Error is JSON that Decode refuses (not JSON, a duplicate member name, a
// number out of float64's range, invalid UTF-8, nesting too deep), and
// where.
type Error struct {
	Offset int    // the byte offset in the input
	Msg    string // what was wrong there
}

func (e *Error) Error() string {
	return fmt.Sprintf("claims: %s at offset %d", e.Msg, e.Offset)
}

// Decode decodes text, a JSON object, into a map: objects as
// map[string]any, arrays as []any, numbers as float64, strings as string,
// true and false as bool, and null as nil.
//
// The strings that need no unescaping share text's memory: the map keeps
// it alive.
func Decode(text string) (map[string]any, error) {
	d := decoder{s: text}
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.i < len(d.s) {
		return nil, d.errorf("data after the top-level value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, ErrNotObject
	}
	return m, nil
}

// decoder reads a JSON text from s, at byte i.
type decoder struct {
	s     string
	i     int
	depth int
}

func (d *decoder) errorf(format string, args ...any) error {
	return &Error{Offset: d.i, Msg: fmt.Sprintf(format, args...)}
}

// skipSpace skips the four whitespace characters of RFC 8259 section 2.
func (d *decoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value reads the value at i.
func (d *decoder) value() (any, error) {
	if d.i == len(d.s) {
		return nil, d.errorf("unexpected end of input")
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.string()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	switch rest := d.s[d.i:]; {
	case strings.HasPrefix(rest, "true"):
		d.i += len("true")
		return true, nil
	case strings.HasPrefix(rest, "false"):
		d.i += len("false")
		return false, nil
	case strings.HasPrefix(rest, "null"):
		d.i += len("null")
		return nil, nil
	}
	return nil, d.errorf("invalid character %q", d.s[d.i])
}

// nest enters an array or object, within maxDepth.
func (d *decoder) nest() error {
	if d.depth++; d.depth > maxDepth {
		return d.errorf("nested deeper than %d", maxDepth)
	}
	d.i++ // the opening bracket or brace
	d.skipSpace()
	return nil
}

// object reads the object at i.
func (d *decoder) object() (map[string]any, error) {
	if err := d.nest(); err != nil {
		return nil, err
	}
	m := make(map[string]any)
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return m, nil
	}
	for {
		if d.i == len(d.s) || d.s[d.i] != '"' {
			return nil, d.errorf("expected a member name")
		}
		at := d.i
		name, err := d.string()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.i == len(d.s) || d.s[d.i] != ':' {
			return nil, d.errorf("expected ':' after a member name")
		}
		d.i++
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		n := len(m)
		m[name] = v
		if len(m) == n { // name was there: one map access, not two
			return nil, &Error{Offset: at, Msg: fmt.Sprintf("duplicate member name %q", name)}
		}
		done, err := d.next('}')
		if err != nil {
			return nil, err
		}
		if done {
			return m, nil
		}
	}
}

// array reads the array at i.
func (d *decoder) array() ([]any, error) {
	if err := d.nest(); err != nil {
		return nil, err
	}
	a := []any{}
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return a, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		done, err := d.next(']')
		if err != nil {
			return nil, err
		}
		if done {
			return a, nil
		}
	}
}

// next reads what follows a member or an element: a comma, after which it
// skips space, or end, which closes the array or object.
func (d *decoder) next(end byte) (done bool, err error) {
	d.skipSpace()
	if d.i == len(d.s) {
		return false, d.errorf("unexpected end of input")
	}
	switch d.s[d.i] {
	case ',':
		d.i++
		d.skipSpace()
		return false, nil
	case end:
		d.i++
		d.depth--
		return true, nil
	}
	return false, d.errorf("expected ',' or %q", end)
}

// string reads the string at i. One without escapes is a part of s.
func (d *decoder) string() (string, error) {
	d.i++ // the opening quote
	start := d.i
	for d.i < len(d.s) {
		d.i += plainRun(d.s[d.i:])
		if d.i == len(d.s) {
			break
		}
		switch c := d.s[d.i]; {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], nil
		case c == '\\':
			return d.unescape(start)
		case c < 0x20:
			return "", d.errorf("control character in a string")
		default:
			if err := d.skipRune(); err != nil {
				return "", err
			}
		}
	}
	return "", d.errorf("unterminated string")
}

// plainRun returns the length of the run of plain bytes s starts with.
func plainRun(s string) int {
	for i := range len(s) {
		if !plain[s[i]] {
			return i
		}
	}
	return len(s)
}

// plain marks the bytes that stand for themselves in a string: ASCII but
// control characters, quotation mark and reverse solidus.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipRune skips the multi-byte UTF-8 character at i.
func (d *decoder) skipRune() error {
	r, size := utf8.DecodeRuneInString(d.s[d.i:])
	if r == utf8.RuneError && size == 1 {
		return d.errorf("invalid UTF-8")
	}
	d.i += size
	return nil
}

// unescape reads the rest of the string begun at start, at the first
// escape sequence, into a new string.
func (d *decoder) unescape(start int) (string, error) {
	buf := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		switch c := d.s[d.i]; {
		case c == '"':
			d.i++
			return string(buf), nil
		case c == '\\':
			r, err := d.escape()
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		case c < 0x20:
			return "", d.errorf("control character in a string")
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			d.i++
		default:
			from := d.i
			if err := d.skipRune(); err != nil {
				return "", err
			}
			buf = append(buf, d.s[from:d.i]...)
		}
	}
	return "", d.errorf("unterminated string")
}

// escape reads the escape sequence at i (RFC 8259 section 7), a surrogate
// pair as one character.
func (d *decoder) escape() (rune, error) {
	if d.i+1 == len(d.s) {
		return 0, d.errorf("unterminated string")
	}
	c := d.s[d.i+1]
	d.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, err := d.hex4()
		if err != nil || !utf16.IsSurrogate(r) {
			return r, err
		}
		if r < 0xdc00 && len(d.s)-d.i >= 2 && d.s[d.i:d.i+2] == `\u` {
			d.i += 2
			low, err := d.hex4()
			if err != nil {
				return 0, err
			}
			if pair := utf16.DecodeRune(r, low); pair != utf8.RuneError {
				return pair, nil
			}
		}
		return 0, d.errorf("unpaired surrogate in an escape")
	}
	d.i -= 2
	return 0, d.errorf("invalid escape sequence")
}

// hex4 reads the four hexadecimal digits of a \u escape.
func (d *decoder) hex4() (rune, error) {
	if len(d.s)-d.i < 4 {
		return 0, d.errorf("invalid \\u escape")
	}
	var r rune
	for _, c := range []byte(d.s[d.i : d.i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, d.errorf("invalid \\u escape")
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, nil
}

// number reads the number at i (RFC 8259 section 6) as a float64. An
// integer of up to 15 digits, which a float64 holds exactly, is converted
// without strconv.
func (d *decoder) number() (any, error) {
	start := d.i
	if d.s[d.i] == '-' {
		d.i++
	}
	intStart := d.i
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case !d.digits():
		return nil, d.errorf("invalid number")
	}
	intEnd := d.i
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if !d.digits() {
			return nil, d.errorf("invalid number")
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if !d.digits() {
			return nil, d.errorf("invalid number")
		}
	}
	if d.i == intEnd && intEnd-intStart <= 15 {
		var n int64
		for _, c := range []byte(d.s[intStart:intEnd]) {
			n = n*10 + int64(c-'0')
		}
		f := float64(n)
		if start != intStart {
			f = -f
		}
		return f, nil
	}
	f, err := strconv.ParseFloat(d.s[start:d.i], 64)
	if err != nil {
		return nil, &Error{Offset: start, Msg: "number out of float64's range"}
	}
	return f, nil
}

// digits skips one or more decimal digits, and reports whether there was
// one.
func (d *decoder) digits() bool {
	from := d.i
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i > from
}
