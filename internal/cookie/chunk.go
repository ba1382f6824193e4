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

// MaxChunks is the most cookies Split writes, and Find reads, for one value.
const MaxChunks = 16

// MaxSize is the most bytes, name plus value, of a cookie the library
// writes. Browsers silently drop larger cookies: RFC 6265 §6.1 promises
// only 4096 bytes, and some browsers count more than name and value.
const MaxSize = 4093

// chunkBudget bounds the whole Set-Cookie header (http.Cookie.String) of a
// chunk, attributes included, so name plus value stays well within MaxSize.
// The 3 bytes below MaxSize are for a second index digit and the quotes a
// value with a space or a comma gets.
const chunkBudget = MaxSize - 3

// ErrTooLarge is matched, via errors.Is, by the error Split returns when a
// value needs more than MaxChunks cookies, and by the error of CheckSize.
var ErrTooLarge = errors.New("cookie: value too large")

// CheckSize fails with ErrTooLarge when a cookie called name holding value
// exceeds MaxSize. It is for cookies that are never split; it does not
// check that name and value are valid.
func CheckSize(name, value string) error {
	if n := len(name) + len(value); n > MaxSize {
		return fmt.Errorf("%w: cookie %q would be %d bytes, more than %d", ErrTooLarge, name, n, MaxSize)
	}
	return nil
}

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

// joiner collects the cookies of one family for Find. Its memory
// and the work of each add are bounded, whatever the number of cookies.
type joiner struct {
	name      string
	single    string
	hasSingle bool // a cookie called name, even empty, was added
	chunks    [MaxChunks]string
	seen      [MaxChunks]bool // a cookie called name.<i>, even empty, was added
	n         int             // of chunks set
	last      int             // highest chunk index, -1 for none
	broken    bool
}

// add takes the cookie called name holding value, ignoring it unless it
// belongs to the family.
func (j *joiner) add(name, value string) {
	if name == j.name {
		j.hasSingle = true
		if j.single == "" {
			j.single = value
		}
		return
	}
	suffix, ok := strings.CutPrefix(name, j.name+".")
	if !ok {
		return
	}
	i, ok := chunkIndex(suffix)
	if !ok {
		j.broken = true // a name Split never writes: nothing to expire
		return
	}
	if j.seen[i] || value == "" {
		j.seen[i] = true
		j.broken = true
		return
	}
	j.seen[i] = true
	j.chunks[i] = value
	j.n++
	j.last = max(j.last, i)
}

// result returns what Find returns for the cookies added.
func (j *joiner) result() (single, chunked string, family []string) {
	if j.hasSingle {
		family = append(family, j.name)
	}
	for i, seen := range j.seen {
		if seen {
			family = append(family, j.name+"."+strconv.Itoa(i))
		}
	}
	slices.Sort(family)
	if j.broken || j.n != j.last+1 {
		return j.single, "", family
	}
	return j.single, strings.Join(j.chunks[:j.n], ""), family
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
