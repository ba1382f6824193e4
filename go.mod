module github.com/monocloud/auth-go

go 1.26

require (
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)
