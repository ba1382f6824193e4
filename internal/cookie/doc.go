// Package cookie stores a value in browser cookies: it encodes the value into
// an encrypted, authenticated string (Codec), spreads that string over as
// many cookies as the browser's per-cookie size limit requires (Split), and
// finds it again in a request's Cookie header (Find).
package cookie
