package monocloud

import "net/http"

// cookieWriter adds the request state's pending cookies to the header just
// before it is written.
type cookieWriter struct {
	http.ResponseWriter
	st *requestState
}

func (w *cookieWriter) WriteHeader(code int) {
	if code >= 200 {
		w.st.commit(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cookieWriter) Write(b []byte) (int, error) {
	w.st.commit(w.Header())
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *cookieWriter) Flush() {
	w.st.commit(w.Header())
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *cookieWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
