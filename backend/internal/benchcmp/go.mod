module github.com/monocloud/auth-go/backend/internal/benchcmp

go 1.26.0

require github.com/monocloud/auth-go v0.0.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.0 // indirect
	github.com/goccy/go-json v0.10.5 // indirect
	github.com/lestrrat-go/blackmagic v1.0.4 // indirect
	github.com/lestrrat-go/dsig v1.0.0 // indirect
	github.com/lestrrat-go/dsig-secp256k1 v1.0.0 // indirect
	github.com/lestrrat-go/httpcc v1.0.1 // indirect
	github.com/lestrrat-go/httprc/v3 v3.0.3 // indirect
	github.com/lestrrat-go/jwx/v3 v3.0.12 // indirect
	github.com/lestrrat-go/option/v2 v2.0.0 // indirect
	github.com/segmentio/asm v1.2.1 // indirect
	github.com/valyala/fastjson v1.6.7 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
	golang.org/x/sys v0.40.0 // indirect
)

require (
	github.com/auth0/go-jwt-middleware/v3 v3.0.0
	github.com/go-jose/go-jose/v4 v4.1.4 // indirect
	golang.org/x/crypto v0.46.0 // indirect
)

replace github.com/monocloud/auth-go => ../../../
