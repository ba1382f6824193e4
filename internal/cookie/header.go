package cookie

import (
	"net/http"
	"net/textproto"
	"strings"
)

// Find is Join for the cookies of a request's Cookie header lines
// (r.Header["Cookie"]), parsing only the cookies of name's family. For a
// well-formed header it returns what Join(r.Cookies(), name) returns, at a
// small fraction of the cost: r.Cookies checks every byte of every value,
// and a session cookie is kilobytes long.
//
// It splits the lines as r.Cookies does: at each ';', with ASCII
// whitespace trimmed around each cookie and its name, a cookie whose name is
// not a token skipped, and one pair of double quotes removed around a
// value. Unlike r.Cookies, it does not check the bytes of values, nor the
// limit on the number of cookies (GODEBUG httpcookiemaxnum): a value that
// r.Cookies would drop is returned as it is, for the caller's decoder to
// refuse.
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
