module github.com/monocloud/auth-go

go 1.26.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0
	github.com/go-jose/go-jose/v4 v4.1.4
	// encoding/json/v2 before Go 1.27: backend decodes access tokens'
	// claims with it, strict about duplicate names and three times faster.
	github.com/go-json-experiment/json v1.27.2
	github.com/gorilla/securecookie v1.1.2
	github.com/klauspost/compress v1.20.5
)

require golang.org/x/oauth2 v0.38.0
