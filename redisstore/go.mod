module github.com/monocloud/auth-go/redisstore

go 1.26.0

require (
	github.com/monocloud/auth-go v0.0.0
	github.com/redis/go-redis/v9 v9.23.0
)

replace github.com/monocloud/auth-go => ../
