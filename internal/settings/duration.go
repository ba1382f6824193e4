package settings

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration variable: a Go duration ("1h", "90s",
// "1m30s") or a whole number of unit ("3600").
func ParseDuration(s string, unit time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if limit := int64(time.Duration(1<<63-1) / unit); n > limit || n < -limit {
			return 0, fmt.Errorf("must be at most %d %s", limit, unitName(unit))
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("must be a Go duration such as 90s or 1h, or a whole number of %s, got %q", unitName(unit), s)
	}
	return d, nil
}

// unitName names the unit of a bare number in a duration variable.
func unitName(unit time.Duration) string {
	if unit == time.Millisecond {
		return "milliseconds"
	}
	return "seconds"
}

// Optional returns a pointer to v, or nil for the zero value: the argument
// of Reader.Duration for an option whose zero value means unset.
func Optional(v time.Duration) *time.Duration {
	if v == 0 {
		return nil
	}
	return &v
}
