package opclient

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// MaxBodySize is the largest answer body read from the provider, by this
// package and by package provider.
const MaxBodySize = 1 << 20

// ErrBodyTooLarge is the error of ReadBody for a body over MaxBodySize.
var ErrBodyTooLarge = fmt.Errorf("the answer exceeds %d bytes", MaxBodySize)

// ReadBody reads body to its end, failing with ErrBodyTooLarge if it
// exceeds MaxBodySize.
func ReadBody(body io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, MaxBodySize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBodySize {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// readBody reads the body of resp with ReadBody, turning a failure into an
// *Error.
func readBody(resp *http.Response) ([]byte, error) {
	body, err := ReadBody(resp.Body)
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return nil, &Error{
			Kind:       KindHTTP,
			StatusCode: resp.StatusCode,
			Message:    "Response body exceeds " + strconv.Itoa(MaxBodySize) + " bytes",
		}
	case err != nil:
		return nil, &Error{Kind: KindHTTP, StatusCode: resp.StatusCode, Message: err.Error(), Err: err}
	}
	return body, nil
}
