module github.com/monocloud/auth-go/examples/echo

go 1.26.0

replace github.com/monocloud/auth-go => ../..

require (
	github.com/labstack/echo/v5 v5.4.6
	github.com/monocloud/auth-go v0.0.0-00010101000000-000000000000
)

require (
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.4 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/klauspost/compress v1.20.5 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)
