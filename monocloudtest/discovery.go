package monocloudtest

import "net/http"

// Endpoint paths, relative to the issuer.
const (
	discoveryPath  = "/.well-known/openid-configuration"
	authorizePath  = "/authorize"
	parPath        = "/par"
	tokenPath      = "/token"
	userinfoPath   = "/userinfo"
	revocationPath = "/revoke"
	endSessionPath = "/end_session"
	jwksPath       = "/jwks"
)

// providerMetadata is the discovery document (OpenID Connect Discovery 1.0,
// section 3, with the RFC 8414, RFC 9126 and RFC 9207 additions).
type providerMetadata struct {
	Issuer                             string   `json:"issuer"`
	AuthorizationEndpoint              string   `json:"authorization_endpoint"`
	TokenEndpoint                      string   `json:"token_endpoint"`
	UserinfoEndpoint                   string   `json:"userinfo_endpoint"`
	JWKSURI                            string   `json:"jwks_uri"`
	EndSessionEndpoint                 string   `json:"end_session_endpoint"`
	PushedAuthorizationRequestEndpoint string   `json:"pushed_authorization_request_endpoint"`
	RevocationEndpoint                 string   `json:"revocation_endpoint"`
	IntrospectionEndpoint              string   `json:"introspection_endpoint"`
	ScopesSupported                    []string `json:"scopes_supported"`
	ResponseTypesSupported             []string `json:"response_types_supported"`
	ResponseModesSupported             []string `json:"response_modes_supported"`
	GrantTypesSupported                []string `json:"grant_types_supported"`
	SubjectTypesSupported              []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported   []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported  []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported      []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseISSSupported  bool     `json:"authorization_response_iss_parameter_supported"`
	BackchannelLogoutSupported         bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported  bool     `json:"backchannel_logout_session_supported"`
	// Config.MTLSEndpointAliases and Config.MTLSAdditionalEndpointAliases.
	MTLSEndpointAliases           map[string]string            `json:"mtls_endpoint_aliases,omitempty"`
	MTLSAdditionalEndpointAliases map[string]map[string]string `json:"mtls_additional_endpoint_aliases,omitempty"`
}

// DiscoveryRequests returns the number of requests for the discovery
// document so far, faulty ones included.
func (p *Provider) DiscoveryRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.discoveryRequests
}

// serveDiscovery serves the OpenID provider metadata.
func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.discoveryRequests++
	fault := p.discoveryFault
	p.mu.Unlock()
	if fault.intercept(w, r, p.closed) {
		return
	}
	iss := p.Issuer()
	writeJSON(w, http.StatusOK, providerMetadata{
		Issuer:                             iss,
		AuthorizationEndpoint:              iss + authorizePath,
		TokenEndpoint:                      iss + tokenPath,
		UserinfoEndpoint:                   iss + userinfoPath,
		JWKSURI:                            iss + jwksPath,
		EndSessionEndpoint:                 iss + endSessionPath,
		PushedAuthorizationRequestEndpoint: iss + parPath,
		RevocationEndpoint:                 iss + revocationPath,
		IntrospectionEndpoint:              iss + introspectionPath,
		ScopesSupported:                    []string{"openid", "profile", "email", "offline_access"},
		ResponseTypesSupported:             []string{"code"},
		ResponseModesSupported:             []string{responseModeQuery, responseModeFormPost},
		GrantTypesSupported:                []string{grantAuthorizationCode, grantRefreshToken},
		SubjectTypesSupported:              []string{"public"},
		IDTokenSigningAlgValuesSupported:   []string{signingAlg},
		TokenEndpointAuthMethodsSupported:  []string{authMethodBasic, authMethodPost, authMethodSecretJWT, authMethodPrivateKeyJWT},
		CodeChallengeMethodsSupported:      []string{"S256"},
		AuthorizationResponseISSSupported:  true,
		BackchannelLogoutSupported:         true,
		BackchannelLogoutSessionSupported:  true,
		MTLSEndpointAliases:                p.cfg.MTLSEndpointAliases,
		MTLSAdditionalEndpointAliases:      p.cfg.MTLSAdditionalEndpointAliases,
	})
}
