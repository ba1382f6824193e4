package opclient

import (
	"context"
	"net/http"
)

var introspection = operation{
	http.StatusOK, "introspection_failed", "Token introspection failed",
	"Error while performing token introspection",
}

// Introspect asks the server whether token is active at introspectionURL
// (RFC 7662 section 2.1), authenticating as for the token endpoint. The
// body carries token and token_type_hint=access_token. It returns the
// response, which must have status 200 and be a JSON object; whether it
// says active is for the caller to check. Any error returned is an *Error.
func (c *Client) Introspect(ctx context.Context, introspectionURL, token string) (map[string]any, error) {
	var f form
	f.add("token", token)
	f.add("token_type_hint", "access_token")
	body, err := c.post(ctx, introspectionURL, &f, introspection)
	if err != nil {
		return nil, err
	}
	obj, err := decodeObject[any](body)
	if err != nil {
		return nil, parseError(http.StatusOK, err)
	}
	return obj, nil
}
