package settings

import (
	"strings"
	"testing"
	"time"
)

// TestParseDuration: Go durations and bare numbers of the unit; a bad value
// names the forms and the unit.
func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		unit time.Duration
		want time.Duration
	}{
		{"3600", time.Second, time.Hour},
		{" 90 ", time.Second, 90 * time.Second},
		{"1h", time.Second, time.Hour},
		{"1m30s", time.Second, 90 * time.Second},
		{"1500", time.Millisecond, 1500 * time.Millisecond},
		{"15s", time.Millisecond, 15 * time.Second},
	} {
		if got, err := ParseDuration(tc.in, tc.unit); err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q, %v) = %v, %v; want %v", tc.in, tc.unit, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		unit time.Duration
		want string
	}{
		{"1d", time.Second, "whole number of seconds"},
		{"ten", time.Millisecond, "whole number of milliseconds"},
		{"18446744133", time.Second, "at most 9223372036 seconds"},
	} {
		if _, err := ParseDuration(tc.in, tc.unit); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDuration(%q) error %v, want one saying %q", tc.in, err, tc.want)
		}
	}
}
