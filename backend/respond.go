package backend

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// messages are the bodies' messages per status, as MonoCloud's SDK words
// them.
var messages = map[int]string{
	http.StatusUnauthorized:        "unauthorized",
	http.StatusBadRequest:          "bad request",
	http.StatusForbidden:           "forbidden",
	http.StatusServiceUnavailable:  "service unavailable",
	http.StatusInternalServerError: "internal server error",
}

// WriteError is the default Options.ErrorWriter: it answers err with
// StatusOf(err) and a JSON body {"error": code, "message": text} that
// never holds internal error text. Protect has set the WWW-Authenticate,
// Retry-After and DPoP-Nonce headers before it calls the writer.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	var e *Error
	code := "server_error"
	if errors.As(err, &e) {
		code = errorCode(e.Code)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	var b strings.Builder
	b.WriteString(`{"error":`)
	if code == "" {
		b.WriteString("null")
	} else {
		b.WriteString(strconv.Quote(code))
	}
	b.WriteString(`,"message":`)
	b.WriteString(strconv.Quote(messages[status]))
	b.WriteString("}\n")
	w.Write([]byte(b.String()))
}

// setChallenge sets the headers that go with refusal e: the
// WWW-Authenticate challenges (RFC 6750 section 3, RFC 9449 section 7.1,
// RFC 9728 section 5.1), Retry-After and DPoP-Nonce.
func (c *Client) setChallenge(h http.Header, e *Error) {
	switch e.Code {
	case ErrUnavailable:
		h.Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter.Seconds()+0.5))))
		return
	case ErrMisconfigured:
		return
	}
	code := errorCode(e.Code)
	dpop := c.cfg.dpop != DPoPDisabled
	switch {
	case e.Code == ErrInvalidDPoPProof || e.Code == ErrUseDPoPNonce || e.Scheme == schemeDPoP:
		h.Add("WWW-Authenticate", c.challenge(schemeDPoP, code, e))
	case e.Code == ErrNoToken:
		if c.cfg.dpop != DPoPRequired {
			h.Add("WWW-Authenticate", c.challenge(schemeBearer, "", e))
		}
		if dpop {
			h.Add("WWW-Authenticate", c.challenge(schemeDPoP, "", e))
		}
	default:
		h.Add("WWW-Authenticate", c.challenge(schemeBearer, code, e))
		if e.Reason == reasonDPoPBoundAsBearer {
			h.Add("WWW-Authenticate", c.challenge(schemeDPoP, code, e))
		}
	}
	if e.Code == ErrUseDPoPNonce || (c.cfg.nonces != nil && e.Scheme == schemeDPoP) {
		h.Set("DPoP-Nonce", c.cfg.nonces.Nonce())
	}
}

// challenge returns one challenge of scheme with the error code, if any.
func (c *Client) challenge(scheme, code string, e *Error) string {
	var b strings.Builder
	b.WriteString(scheme)
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(value)
		b.WriteByte('"')
		sep = ", "
	}
	if c.cfg.realm != "" {
		param("realm", c.cfg.realm)
	}
	if code != "" {
		param("error", code)
	}
	if len(e.MissingScopes) > 0 {
		param("scope", strings.Join(e.MissingScopes, " "))
	}
	if c.cfg.resourceMeta != "" {
		param("resource_metadata", c.cfg.resourceMeta)
	}
	if scheme == schemeDPoP {
		param("algs", c.algNames)
	}
	return b.String()
}
