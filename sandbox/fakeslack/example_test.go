package fakeslack_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"revokebot/sandbox/fakeslack"
)

// A test starts a workspace, points the bot under test at APIURL with the workspace's tokens,
// then acts as a person and waits for what that person would see.
func Example() {
	s := fakeslack.NewServer(fakeslack.Config{})
	defer s.Close()
	org := s.Seed()
	_ = s.APIURL() // slack.OptionAPIURL(s.APIURL()), with s.BotToken() and s.AppToken()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// …start the bot under test here; RunSlashCommand waits for its connection and ack…
	if _, err := s.RunSlashCommand(ctx, org.Carol, org.Revocations, "/revoke", "help"); err != nil {
		return
	}
	e, err := s.WaitEphemeral(ctx, org.Carol, func(e fakeslack.Ephemeral) bool { return strings.Contains(e.Text, "Usage") })
	if err != nil {
		return
	}
	fmt.Println(e.Text)
}

// The sandbox mounts the workspace under /slack/: the Web API is then at /slack/api/, the
// socket at /slack/socket, response URLs at /slack/response/ and the live change stream
// (Server-Sent Events) at /slack/changes.
func ExampleWorkspace_ServeHTTP() {
	w := fakeslack.New(fakeslack.Config{})
	defer w.Close()
	mux := http.NewServeMux()
	mux.Handle("/slack/", http.StripPrefix("/slack", w))
	_ = &http.Server{Addr: "127.0.0.1:8080", Handler: mux}
}
