package monocloud

import (
	"context"
	"errors"
)

// RevokeTokens revokes the tokens of s at the provider's
// revocation_endpoint (RFC 7009): its refresh token first, which with most
// providers revokes the whole grant, then each of its access tokens. It
// authenticates as the token requests do. It tries every token even after
// a failure and returns the failures joined, each an *OPError or an
// *HTTPError; a token the provider does not know is not a failure.
//
// It returns ErrNoRevocationEndpoint if the provider has no
// revocation_endpoint, and the discovery error if the provider cannot be
// reached. It neither reads nor changes the stored session: to sign the user
// out as well, use the sign-out route (see Options.RevokeTokensOnSignOut).
func (c *Client) RevokeTokens(ctx context.Context, s *Session) error {
	p, err := c.provider(ctx)
	if err != nil {
		return c.reportDiscovery(ctx, err)
	}
	if p.revocationURL == "" {
		return ErrNoRevocationEndpoint
	}
	var errs []error
	revoke := func(token, hint string) {
		if err := p.tokens.Revoke(ctx, p.revocationURL, token, hint); err != nil {
			errs = append(errs, opError(err))
		}
	}
	if s.RefreshToken != "" {
		revoke(s.RefreshToken, "refresh_token")
	}
	for _, at := range s.AccessTokens {
		if at.AccessToken != "" {
			revoke(at.AccessToken, "access_token")
		}
	}
	return errors.Join(errs...)
}

// revokeOnSignOut revokes the tokens of a session that sign-out has ended
// and returns the failure for the sign-out to report (it does not stop
// the sign-out); a provider without a revocation_endpoint is skipped
// silently.
func (c *Client) revokeOnSignOut(ctx context.Context, s *Session) error {
	if err := c.RevokeTokens(ctx, s); err != nil && !errors.Is(err, ErrNoRevocationEndpoint) {
		return err
	}
	return nil
}
