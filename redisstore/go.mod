module github.com/monocloud/auth-go/redisstore

go 1.26.0

require (
	github.com/monocloud/auth-go v0.0.0
	github.com/monocloud/auth-go/e2e v0.0.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.4 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/klauspost/compress v1.20.5 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/monocloud/auth-go => ../

replace github.com/monocloud/auth-go/e2e => ../e2e
