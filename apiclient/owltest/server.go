package owltest

import (
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
