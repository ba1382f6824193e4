package redisstore

// SetMaxEnded bounds the set of ended sessions of s to n members, so that
// tests reach the bound.
func SetMaxEnded(s *Store, n int) { s.maxEnded = n }
