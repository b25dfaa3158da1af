package fakeslack_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"revokebot/sandbox/fakeslack"
)

// postForm calls a Web API method with ctx and returns the error of the exchange, if any.
func postForm(ctx context.Context, s *fakeslack.Server, method string, form url.Values) (time.Duration, error) {
	form.Set("token", s.BotToken())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.APIURL()+method, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Since(began), err
	}
	resp.Body.Close()
	return time.Since(began), nil
}

func TestMethodFaults(t *testing.T) {
	t.Run("a hung method never answers, changes nothing, and the call is recorded at once", func(t *testing.T) {
		s, org := startServer(t, fastConfig())
		s.SetFault("chat.postMessage", fakeslack.Fault{Hang: true})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			_, err := postForm(ctx, s, "chat.postMessage", url.Values{"channel": {org.General}, "text": {"hello"}})
			errc <- err
		}()
		if _, err := s.WaitCall(deadline(t), func(c fakeslack.Call) bool { return c.Method == "chat.postMessage" && c.Unanswered }); err != nil {
			t.Fatalf("the hung call was not recorded while it hung: %v", err)
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("the client's call ended with %v, want its own cancellation", err)
		}
		if n := len(s.Messages(org.General)); n != 0 {
			t.Errorf("a hung chat.postMessage posted %d messages", n)
		}
	})
	t.Run("other methods answer as usual", func(t *testing.T) {
		s, _ := startServer(t, fastConfig())
		s.SetFault("chat.postMessage", fakeslack.Fault{Hang: true})
		_, body := callForm(t, s, "auth.test", s.BotToken(), nil)
		mustOK(t, body)
	})
	t.Run("latency delays the answer, then the call is processed", func(t *testing.T) {
		s, org := startServer(t, fastConfig())
		const latency = 200 * time.Millisecond
		s.SetFault("chat.postMessage", fakeslack.Fault{Latency: latency})
		took, err := postForm(deadline(t), s, "chat.postMessage", url.Values{"channel": {org.General}, "text": {"hello"}})
		if err != nil {
			t.Fatal(err)
		}
		if took < latency {
			t.Errorf("the call took %s, less than the latency %s", took, latency)
		}
		if n := len(s.Messages(org.General)); n != 1 {
			t.Errorf("%d messages after a slow post, want 1", n)
		}
	})
	t.Run("a zero fault and ClearFaults remove faults", func(t *testing.T) {
		s, _ := startServer(t, fastConfig())
		s.SetFault("chat.postMessage", fakeslack.Fault{Hang: true})
		s.SetFault("chat.update", fakeslack.Fault{Hang: true})
		s.SetFault("chat.postMessage", fakeslack.Fault{})
		if got := s.Faults(); len(got) != 1 || !got["chat.update"].Hang {
			t.Errorf("faults = %v, want only chat.update's", got)
		}
		s.ClearFaults()
		if got := s.Faults(); len(got) != 0 {
			t.Errorf("faults after ClearFaults = %v", got)
		}
	})
	t.Run("closing the workspace ends a hung call", func(t *testing.T) {
		s := fakeslack.NewServer(fastConfig())
		org := s.Seed()
		s.SetFault("chat.postMessage", fakeslack.Fault{Hang: true})
		errc := make(chan error, 1)
		go func() {
			_, err := postForm(context.Background(), s, "chat.postMessage", url.Values{"channel": {org.General}, "text": {"hello"}})
			errc <- err
		}()
		if _, err := s.WaitCall(deadline(t), func(c fakeslack.Call) bool { return c.Unanswered }); err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { s.Close(); close(closed) }()
		select {
		case <-closed:
		case <-deadline(t).Done():
			t.Fatal("Close waited for ever on a hung call")
		}
		if err := <-errc; err == nil {
			t.Error("the hung call was answered when the workspace closed")
		}
	})
}
