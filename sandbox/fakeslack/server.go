package fakeslack

import (
	"net/http"
	"net/http/httptest"
)

// MountPrefix is where NewServer mounts the workspace, as the sandbox does: mounting under a
// prefix makes a client that builds absolute URLs fail loudly in tests.
const MountPrefix = "/slack/"

// Server is a Workspace served over real HTTP on 127.0.0.1, for tests: the httptest.Server of
// a fake Slack.
type Server struct {
	*Workspace
	// URL is the server's root, e.g. http://127.0.0.1:43210.
	URL string
	srv *httptest.Server
}

// NewServer starts a workspace mounted at MountPrefix on a loopback port.
func NewServer(cfg Config) *Server {
	w := New(cfg)
	mux := http.NewServeMux()
	mux.Handle(MountPrefix, http.StripPrefix(MountPrefix[:len(MountPrefix)-1], w))
	srv := httptest.NewServer(mux)
	return &Server{Workspace: w, URL: srv.URL, srv: srv}
}

// APIURL is the Web API base to hand to slack.OptionAPIURL or Bolt's slackApiUrl; it ends in
// "/".
func (s *Server) APIURL() string { return s.URL + MountPrefix + "api/" }

// BaseURL is the mount point's URL, ending in "/".
func (s *Server) BaseURL() string { return s.URL + MountPrefix }

// Close closes the workspace (cutting its sockets) and then the HTTP server.
func (s *Server) Close() {
	s.Workspace.Close()
	s.srv.Close()
}
