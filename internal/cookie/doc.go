// Package cookie stores a value in browser cookies: it encodes the value into
// an encrypted, authenticated string (Codec) and spreads that string over as
// many cookies as the browser's per-cookie size limit requires (Split, Join).
package cookie
