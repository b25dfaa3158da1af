package owltest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
)

// serverPrefix is where a Server mounts its Fake, so that a client which builds absolute paths
// instead of appending to its base URL fails loudly.
const serverPrefix = "/owl"

// Server runs a Fake on a loopback listener, like httptest.Server. URL is the base URL to give a
// client, which appends /api/v1/...; it ends in a path prefix.
type Server struct {
	*Fake
	URL string

	server *httptest.Server
}

// NewServer starts a Fake built with opts. Close it when done.
func NewServer(opts ...Option) *Server {
	fake := New(opts...)
	mux := http.NewServeMux()
	mux.Handle(serverPrefix+"/", http.StripPrefix(serverPrefix, fake))
	server := httptest.NewServer(mux)
	return &Server{Fake: fake, URL: server.URL + serverPrefix, server: server}
}

// Close shuts the server down and waits for its handlers. It first closes every connection, so
// that a handler waiting out an injected Latency ends at once instead of holding Close up.
func (s *Server) Close() {
	s.server.CloseClientConnections()
	s.server.Close()
}

// Transport returns an http.RoundTripper that hands requests straight to the Fake, without
// sockets, so that a testing/synctest bubble's fake clock can move while AccessOwl "answers".
// A cancelled request fails as it would on the network, and an answer dropped after commit
// (Fault.DropAfterCommit, DropRate) fails as a connection closed without an answer.
func (f *Fake) Transport() http.RoundTripper { return handlerTransport{f} }

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			resp, err = nil, fmt.Errorf("owltest: %s %s: connection closed without an answer: %w", req.Method, req.URL.Path, io.ErrUnexpectedEOF)
		}
	}()
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	sreq := req.Clone(req.Context())
	sreq.Body = io.NopCloser(bytes.NewReader(body))
	sreq.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, sreq)
	resp = rec.Result()
	resp.Request = req
	return resp, nil
}
