package cookie

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxChunks is the most cookies Split writes, and Join reads, for one value.
const MaxChunks = 16

// chunkBudget bounds the Set-Cookie header (http.Cookie.String) of a chunk.
// Browsers keep cookies of up to 4096 bytes (RFC 6265 §6.1); the rest is
// left for a second index digit and the quotes a value with a space or a
// comma gets.
const chunkBudget = 4090

// ErrTooLarge is matched, via errors.Is, by the error Split returns when a
// value needs more than MaxChunks cookies.
var ErrTooLarge = errors.New("cookie: value too large")

// Attributes are the attributes of the cookies holding a value.
type Attributes struct {
	Path     string
	Domain   string
	HTTPOnly bool
	Secure   bool
	SameSite http.SameSite
	Expires  time.Time // The zero time makes a browser-session cookie.
	MaxAge   int       // As http.Cookie.MaxAge.
}

// cookie returns the cookie called name holding value, with attributes a.
func (a Attributes) cookie(name, value string) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     a.Path,
		Domain:   a.Domain,
		Expires:  a.Expires,
		MaxAge:   a.MaxAge,
		Secure:   a.Secure,
		HttpOnly: a.HTTPOnly,
		SameSite: a.SameSite,
	}
}

// Split returns the cookies that hold value: one cookie called name if its
// Set-Cookie header fits in a browser cookie, or else cookies called
// name.0, name.1, … each holding the next part of value. It fails if
// http.Cookie.Valid rejects name, value or a, and with ErrTooLarge if value
// needs more than MaxChunks cookies.
func Split(name, value string, a Attributes) ([]*http.Cookie, error) {
	if err := a.cookie(name, value).Valid(); err != nil {
		return nil, fmt.Errorf("cookie: %q: %w", name, err)
	}
	size := chunkBudget - len(a.cookie(name+".0", "").String())
	if size <= 0 {
		return nil, fmt.Errorf("%w: the attributes of %q leave no room for a value", ErrTooLarge, name)
	}
	if len(value) <= size {
		return []*http.Cookie{a.cookie(name, value)}, nil
	}
	n := (len(value) + size - 1) / size
	if n > MaxChunks {
		return nil, fmt.Errorf("%w: %q needs %d cookies of %d bytes, more than %d", ErrTooLarge, name, n, size, MaxChunks)
	}
	cookies := make([]*http.Cookie, n)
	for i := range cookies {
		k := min(size, len(value))
		cookies[i] = a.cookie(name+"."+strconv.Itoa(i), value[:k])
		value = value[k:]
	}
	return cookies, nil
}

// Join returns the value Split spread over cookies under name, and family,
// the sorted names of all cookies called name or name.<anything>, so the
// caller can expire those it does not write again.
//
// The first non-empty cookie called name is the value. Otherwise the value
// is the concatenation of the cookies name.0 to name.k, if they are exactly
// the other family members, each non-empty and present once, with indexes
// in decimal without sign or leading zeros and k < MaxChunks. Otherwise
// the value is empty. Join does not check the value itself.
func Join(cookies []*http.Cookie, name string) (value string, family []string) {
	var (
		chunks [MaxChunks]string
		n      int  // of chunks set
		last   = -1 // highest chunk index
		broken bool
	)
	prefix := name + "."
	for _, c := range cookies {
		if c.Name == name {
			family = append(family, c.Name)
			if value == "" {
				value = c.Value
			}
			continue
		}
		suffix, ok := strings.CutPrefix(c.Name, prefix)
		if !ok {
			continue
		}
		family = append(family, c.Name)
		i, ok := chunkIndex(suffix)
		if !ok || chunks[i] != "" || c.Value == "" {
			broken = true
			continue
		}
		chunks[i] = c.Value
		n++
		last = max(last, i)
	}
	slices.Sort(family)
	family = slices.Compact(family)
	if value != "" || broken || n != last+1 {
		return value, family
	}
	return strings.Join(chunks[:n], ""), family
}

// chunkIndex parses the index of a chunk cookie, the decimal after the dot.
func chunkIndex(s string) (int, bool) {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n = n*10 + int(c-'0'); n >= MaxChunks {
			return 0, false
		}
	}
	return n, true
}

// Expired returns the cookie that makes a browser delete the cookie called
// name which was set with attributes a. It keeps a's Path, Domain, HTTPOnly,
// Secure and SameSite, as the browser only replaces a cookie with the same
// name, path and domain.
func Expired(name string, a Attributes) *http.Cookie {
	c := a.cookie(name, "")
	c.Expires = time.Time{}
	c.MaxAge = -1
	return c
}
