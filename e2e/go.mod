module github.com/monocloud/auth-go/e2e

go 1.26.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0
	github.com/go-jose/go-jose/v4 v4.1.4
	github.com/monocloud/auth-go v0.0.0
	golang.org/x/oauth2 v0.38.0
)

require (
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/klauspost/compress v1.20.5 // indirect
)

replace github.com/monocloud/auth-go => ../
