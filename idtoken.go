package monocloud

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// unverifiedClaim returns a claim of a JWT that was verified when it was
// stored in the session; it checks nothing.
func unverifiedClaim(jwt, claim string) string {
	s, _ := unverifiedClaims(jwt)[claim].(string)
	return s
}

// unverifiedClaims returns the claims of a compact JWT without verifying
// it (nil if it cannot be decoded): for a token verified when received.
func unverifiedClaims(jwt string) map[string]any {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(payload, &m) != nil {
		return nil
	}
	return m
}

// withoutFilteredClaims returns the claims that become the user's, of an ID
// token or a signed userinfo: all but Options.FilteredIDTokenClaims.
func (c *Client) withoutFilteredClaims(claims map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		if !slices.Contains(c.cfg.opts.FilteredIDTokenClaims, k) {
			out[k] = v
		}
	}
	return out
}
