// Package benchcmp compares, in one benchmark run, package backend with
// auth0/go-jwt-middleware validating the same access token. It is its own
// module so that the core module does not depend on the middleware.
//
//	cd backend/internal/benchcmp && go test -run - -bench . -benchmem
//
// The Go module proxy serves go-jwt-middleware up to v2.3.1: its v3 is not
// published there, so the comparison is with v2.
package benchcmp
