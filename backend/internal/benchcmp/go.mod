module github.com/monocloud/auth-go/backend/internal/benchcmp

go 1.26.0

require github.com/monocloud/auth-go v0.0.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/go-json-experiment/json v1.27.2 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)

require (
	github.com/auth0/go-jwt-middleware/v2 v2.3.1
	github.com/go-jose/go-jose/v4 v4.1.4 // indirect
	golang.org/x/crypto v0.45.0 // indirect
	golang.org/x/sync v0.18.0 // indirect
	gopkg.in/go-jose/go-jose.v2 v2.6.3 // indirect
)

replace github.com/monocloud/auth-go => ../../../
