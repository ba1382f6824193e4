package cookie

import (
	"net/http"
	"net/textproto"
	"strings"
)

// Find returns the values Split spread over cookies under name, read from
// a request's Cookie header lines (r.Header["Cookie"]), and family, the
// sorted names among name and name.0 to name.<MaxChunks-1> that the
// cookies hold, so the caller can expire those it does not write again.
// The family holds only names Split can write, MaxChunks+1 at most,
// however many cookies there are: a cookie called name.<anything else>
// makes chunked empty but needs no expiring, as this package never writes
// one.
//
// single is the first non-empty cookie called name. chunked is the
// concatenation of the cookies name.0 to name.k, if they are exactly the
// family members other than name, each non-empty and present once, with
// indexes in decimal without sign or leading zeros and k < MaxChunks;
// otherwise it is empty. A browser holds both only when a write could not
// expire the other form's cookies: which of the two is current is for the
// caller to decide. Find does not check the values themselves.
//
// It parses only the cookies of name's family, and splits the lines as
// r.Cookies does: at each ';', with ASCII whitespace trimmed around each
// cookie and its name, a cookie whose name is not a token skipped, and one
// pair of double quotes removed around a value. Unlike r.Cookies, it does
// not check the bytes of values, nor the limit on the number of cookies
// (GODEBUG httpcookiemaxnum): a value that r.Cookies would drop is returned
// as it is, for the caller's decoder to refuse. That makes it a small
// fraction of the cost of r.Cookies, which checks every byte of every
// value, when a session cookie is kilobytes long.
func Find(lines []string, name string) (single, chunked string, family []string) {
	j := joiner{name: name, last: -1}
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, _ := strings.Cut(textproto.TrimString(part), "=")
			n = textproto.TrimString(n)
			if !strings.HasPrefix(n, name) || (&http.Cookie{Name: n}).Valid() != nil {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			j.add(n, v)
		}
	}
	return j.result()
}
