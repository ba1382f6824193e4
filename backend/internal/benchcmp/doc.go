// Package benchcmp compares, in one benchmark run, package backend with
// auth0/go-jwt-middleware validating the same access token. It is its own
// module so that the core module does not depend on the middleware.
//
//	cd backend/internal/benchcmp && go test -run - -bench . -benchmem
package benchcmp
