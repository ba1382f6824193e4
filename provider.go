package monocloud

import (
	"context"
	"errors"

	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/monocloud/auth-go/internal/tokenendpoint"
)

// provider is the OpenID provider as discovered once by New: its endpoints,
// the ID token verifier (go-oidc, with its JWKS cache that refetches on an
// unknown key ID) and the token endpoint client.
type provider struct {
	issuer        string
	authURL       string
	tokenURL      string
	userInfoURL   string
	endSessionURL string
	parURL        string
	verifier      *oidc.IDTokenVerifier
	tokens        *tokenendpoint.Client
}

// discover fetches the discovery document of cfg.issuer.
func discover(ctx context.Context, cfg *config) (*provider, error) {
	ctx = oidc.ClientContext(ctx, cfg.httpClient)
	p, err := oidc.NewProvider(ctx, cfg.issuer)
	if err != nil && strings.Contains(err.Error(), "did not match the issuer URL") {
		// The configured issuer lost (or never had) the trailing slash
		// that the provider's issuer has.
		if alt, altErr := oidc.NewProvider(ctx, cfg.issuer+"/"); altErr == nil {
			p, err = alt, nil
		}
	}
	if err != nil {
		return nil, &HTTPError{Message: "Error while fetching metadata: " + err.Error(), Err: err}
	}
	var meta struct {
		Issuer        string `json:"issuer"`
		EndSession    string `json:"end_session_endpoint"`
		PAR           string `json:"pushed_authorization_request_endpoint"`
		UserInfo      string `json:"userinfo_endpoint"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, &HTTPError{Message: "Failed to parse response body as JSON : " + err.Error(), Err: err}
	}
	for _, required := range []struct{ name, value string }{
		{"authorization_endpoint", p.Endpoint().AuthURL},
		{"token_endpoint", meta.TokenEndpoint},
	} {
		if required.value == "" {
			return nil, &ValidationError{Message: required.name + " endpoint is required but not available in the issuer metadata"}
		}
	}
	if cfg.usePAR && meta.PAR == "" {
		return nil, &ValidationError{Field: "UsePAR", EnvVar: "MONOCLOUD_AUTH_USE_PAR", Message: "pushed_authorization_request_endpoint endpoint is required but not available in the issuer metadata"}
	}
	skew := cfg.clockSkew
	verifier := p.Verifier(&oidc.Config{
		ClientID:             cfg.clientID,
		SupportedSigningAlgs: []string{cfg.idTokenAlg},
		// go-oidc rejects exp < now; shifting its clock back by the skew
		// accepts tokens that expired within the skew.
		Now: func() time.Time { return time.Now().Add(-skew) },
	})
	method := tokenendpoint.ClientSecretBasic
	if cfg.authPost {
		method = tokenendpoint.ClientSecretPost
	}
	return &provider{
		issuer:        meta.Issuer,
		authURL:       p.Endpoint().AuthURL,
		tokenURL:      meta.TokenEndpoint,
		userInfoURL:   meta.UserInfo,
		endSessionURL: meta.EndSession,
		parURL:        meta.PAR,
		verifier:      verifier,
		tokens: &tokenendpoint.Client{
			HTTPClient:   cfg.httpClient,
			ClientID:     cfg.clientID,
			ClientSecret: cfg.clientSecret,
			AuthMethod:   method,
		},
	}, nil
}

// endSession returns the provider's end_session URL for RP-initiated logout.
func (p *provider) endSession(clientID, idToken, postLogout string) (string, bool) {
	if p.endSessionURL == "" {
		return "", false
	}
	u, err := url.Parse(p.endSessionURL)
	if err != nil {
		return "", false
	}
	q := u.Query()
	q.Set("client_id", clientID)
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	if postLogout != "" {
		q.Set("post_logout_redirect_uri", postLogout)
	}
	u.RawQuery = q.Encode()
	return u.String(), true
}

// opError converts an error of the token endpoint client into the package's
// error types.
func opError(err error) error {
	var te *tokenendpoint.Error
	if !errors.As(err, &te) {
		return &HTTPError{Message: err.Error(), Err: err}
	}
	switch te.Kind {
	case tokenendpoint.KindOAuth:
		return &OPError{Code: te.Code, Description: te.Description, StatusCode: te.StatusCode}
	case tokenendpoint.KindValidation:
		return &ValidationError{Message: te.Message, Err: te.Err}
	}
	return &HTTPError{Message: te.Message, StatusCode: te.StatusCode, Err: err}
}
