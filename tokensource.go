package monocloud

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"
)

// TokenSource returns an oauth2.TokenSource handing out the current access
// token of the user of ctx's request (see GetTokens), selected by opts and
// refreshed through the same exactly-once path as GetTokens. ctx must be the
// context of a request served under AuthMiddleware or Handler, and the
// source must not outlive that request.
func (c *Client) TokenSource(ctx context.Context, opts *GetTokensOptions) oauth2.TokenSource {
	return &requestTokenSource{ctx: ctx, c: c, opts: opts}
}

// APIClient returns an *http.Client that calls a downstream API with the
// user's current access token as a Bearer token (see TokenSource). It is
// not Options.HTTPClient, which calls the provider.
func (c *Client) APIClient(ctx context.Context, opts *GetTokensOptions) *http.Client {
	return oauth2.NewClient(ctx, c.TokenSource(ctx, opts))
}

type requestTokenSource struct {
	ctx  context.Context
	c    *Client
	opts *GetTokensOptions
}

func (s *requestTokenSource) Token() (*oauth2.Token, error) {
	var opts *GetTokensOptions
	if s.opts != nil {
		o := *s.opts
		o.ForceRefresh = false // a forced refresh per outgoing request would defeat the session
		opts = &o
	}
	t, err := s.c.GetTokens(s.ctx, opts)
	if err != nil {
		return nil, err
	}
	return t.Token(), nil
}
