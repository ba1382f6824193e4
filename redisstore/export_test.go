package redisstore

// SetMaxRevocations bounds the revocation set of s to n members, so that
// tests reach the bound.
func SetMaxRevocations(s *Store, n int) { s.maxRevocations = n }
