package monocloud

import (
	"errors"
	"fmt"
	"testing"
)

// TestSentinelErrors: each sentinel matches itself through wrapping, is a
// *ValidationError, and matches no other sentinel.
func TestSentinelErrors(t *testing.T) {
	sentinels := map[string]error{
		"ErrNoSession":            ErrNoSession,
		"ErrNoRefreshToken":       ErrNoRefreshToken,
		"ErrResourceNotRequested": ErrResourceNotRequested,
		"ErrInvalidState":         ErrInvalidState,
	}
	for name, sentinel := range sentinels {
		wrapped := fmt.Errorf("handler: %w", sentinel)
		var ve *ValidationError
		if !errors.Is(wrapped, sentinel) || !errors.As(wrapped, &ve) || ve.Message == "" {
			t.Errorf("%s: errors.Is %v, errors.As %v", name, errors.Is(wrapped, sentinel), ve)
		}
		for other, o := range sentinels {
			if other != name && errors.Is(wrapped, o) {
				t.Errorf("%s matches %s", name, other)
			}
		}
	}
}
