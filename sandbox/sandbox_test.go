package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"testing"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// call sends a request to the sandbox and decodes its JSON answer into out (when not nil).
func call(t *testing.T, method, url string, body any, header http.Header, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, res.StatusCode, raw, err)
		}
	}
	return res.StatusCode
}

func TestOneAddressServesBothFakesAndThePage(t *testing.T) {
	s := startSandbox(t)

	var auth struct {
		OK     bool   `json:"ok"`
		UserID string `json:"user_id"`
	}
	call(t, "POST", s.URL+"slack/api/auth.test", nil, http.Header{"Authorization": {"Bearer " + s.Slack.BotToken()}}, &auth)
	if !auth.OK || auth.UserID != s.Slack.BotUserID() {
		t.Errorf("auth.test at /slack/api/ = %+v, want ok as the bot", auth)
	}

	var users struct {
		Data []json.RawMessage `json:"data"`
	}
	status := call(t, "GET", s.URL+"accessowl/api/v1/users?status=all", nil, http.Header{"Authorization": {"Bearer " + owltest.DefaultToken}}, &users)
	if status != http.StatusOK || len(users.Data) < 10 {
		t.Errorf("GET /accessowl/api/v1/users = %d with %d people, want 200 with the seed company", status, len(users.Data))
	}

	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`src="/app.js"`)) {
		t.Errorf("GET / = %d, want the page that loads app.js", res.StatusCode)
	}
}

func TestThePageNeedsNothingFromTheInternet(t *testing.T) {
	err := fs.WalkDir(webFiles, "web", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := webFiles.ReadFile(path)
		for _, ref := range []string{`src="http`, `href="http`, `@import`, `url(http`, `fetch('http`} {
			if bytes.Contains(b, []byte(ref)) {
				t.Errorf("%s loads something from elsewhere (%s): the page must work offline", path, ref)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestThePageIsServedAtItsPermalinksAndHasAFavicon(t *testing.T) {
	s := startSandbox(t)
	for _, tt := range []struct{ path, contentType, contains string }{
		{"archives/C000000001/p1700000000000100", "text/html", `<script src="/app.js">`},
		{"favicon.ico", "image/svg+xml", "<svg"},
	} {
		res, err := http.Get(s.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), tt.contentType) || !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET /%s: %d %s, want %s with %q", tt.path, res.StatusCode, res.Header.Get("Content-Type"), tt.contentType, tt.contains)
		}
	}
}

func TestSlackMatchesAccessOwlByEmailWithTwoApprovers(t *testing.T) {
	s := startSandbox(t)
	emails := map[string]bool{}
	for _, u := range s.Slack.Users() {
		emails[u.Email] = true
	}
	for _, u := range s.Owl.Users() {
		if !emails[u.Email] {
			t.Errorf("%s is in AccessOwl but not in Slack", u.Email)
		}
	}
	groups := s.Slack.UserGroups()
	if len(groups) != 1 || len(groups[0].Members) != 2 || s.Config.Approvers[0] != groups[0].ID {
		t.Errorf("approver groups = %+v, approvers = %v; want one group of two, configured as the approvers", groups, s.Config.Approvers)
	}
	if len(s.Owl.Applications()) < 8 || len(s.Owl.AccessStates()) < 35 {
		t.Errorf("the seed has %d applications and %d access states; want a small company's worth", len(s.Owl.Applications()), len(s.Owl.AccessStates()))
	}
}

// TestTheJSONEndpointsRunTheWholeFlow runs what the page does without a browser, so that the
// endpoints are tested on every machine.
func TestTheJSONEndpointsRunTheWholeFlow(t *testing.T) {
	s := startSandbox(t)
	state := activeState(t, s.Owl, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	requester, approver := s.World.Requester, s.World.Approvers[0]

	events := subscribe(t, s)

	if st := call(t, "POST", s.URL+"sandbox/slack/command", map[string]string{"user": requester, "command": "/revoke", "text": ""}, nil, nil); st != http.StatusOK {
		t.Fatalf("/revoke: status %d", st)
	}
	if _, err := s.Slack.WaitModal(waitCtx(t), requester, func(fakeslack.View) bool { return true }); err != nil {
		t.Fatalf("no modal: %v", err)
	}
	dev := s.World.SlackID[owltest.SeedManyGrantsEmail]
	call(t, "POST", s.URL+"sandbox/slack/modal/input", map[string]string{"user": requester, "action_id": "person", "kind": "user", "value": dev}, nil, nil)
	if _, err := s.Slack.WaitModal(waitCtx(t), requester, func(v fakeslack.View) bool { return bytes.Contains(v.Blocks, []byte(state.ID)) }); err != nil {
		t.Fatalf("the modal never offered Dev's access: %v", err)
	}
	call(t, "POST", s.URL+"sandbox/slack/modal/input", map[string]string{"user": requester, "action_id": "access", "kind": "option", "value": state.ID, "text": "AWS"}, nil, nil)
	var submitted fakeslack.SubmitResult
	call(t, "POST", s.URL+"sandbox/slack/modal/submit", map[string]any{"user": requester, "texts": map[string]string{"reason": "Moved to the data team"}}, nil, &submitted)
	if submitted.ResponseAction != "" {
		t.Fatalf("submit answered %+v, want the form closed", submitted)
	}
	m, err := s.Slack.WaitMessage(waitCtx(t), s.World.Channel, func(m fakeslack.Message) bool { return strings.Contains(m.Text, "Access revocation request") })
	if err != nil {
		t.Fatal(err)
	}

	var page slackState
	call(t, "GET", s.URL+"sandbox/slack?as="+approver, nil, nil, &page)
	var seen fakeslack.Message
	for _, c := range page.Channels {
		for _, pm := range c.Messages {
			if pm.TS == m.TS {
				seen = pm
			}
		}
	}
	if seen.TS == "" {
		t.Fatalf("the approver's page does not show the approval message")
	}
	// The first approval goes through AccessOwl failing half its requests.
	call(t, "POST", s.URL+"sandbox/owl/faults", faultView{ErrorRate: 0.5}, nil, nil)
	click := func(who string) {
		call(t, "POST", s.URL+"sandbox/slack/click", map[string]any{"user": who, "action_id": "revokebot_approve", "message": seen}, nil, nil)
	}
	click(approver)
	var revocations []owltest.Revocation
	if err := s.Owl.Await(waitCtx(t), func(f *owltest.Fake) bool {
		revocations = revocationsOf(f, state.ID)
		return len(revocations) > 0
	}); err != nil {
		t.Fatal(err)
	}
	// The second approver clicks the message as their page still showed it, buttons and all.
	// Without faults, so that her one POST meets the first one's key: a 5xx and then a 409
	// would rightly count as her own submission getting through.
	call(t, "POST", s.URL+"sandbox/owl/faults", faultView{}, nil, nil)
	second := s.World.Approvers[1]
	click(second)
	if _, err := s.Slack.WaitEphemeral(waitCtx(t), second, func(e fakeslack.Ephemeral) bool { return strings.Contains(e.Text, "already submitted") }); err != nil {
		t.Fatalf("the second approval was not answered already submitted: %v", err)
	}
	call(t, "POST", s.URL+"sandbox/owl/revoke", map[string]string{"id": revocations[0].ID}, nil, nil)
	if _, err := s.Slack.WaitReply(waitCtx(t), s.World.Channel, m.TS, func(r fakeslack.Message) bool { return strings.Contains(r.Text, "*revoked*") }); err != nil {
		t.Fatalf("no revoked reply: %v", err)
	}
	if n := len(revocationsOf(s.Owl, state.ID)); n != 1 {
		t.Errorf("%d revocations, want exactly one", n)
	}
	var owl owlState
	call(t, "GET", s.URL+"sandbox/owl", nil, nil, &owl)
	if owl.Revocations[0].ID != revocations[0].ID || owl.Revocations[0].Status != owltest.Revoked || owl.Fault != (faultView{}) {
		t.Errorf("the panel shows %+v first with faults %+v; want the new revocation, revoked, no faults", owl.Revocations[0], owl.Fault)
	}
	for _, kind := range []string{"slack", "owl"} {
		if !events.saw(kind) {
			t.Errorf("the page's event stream sent no %q event", kind)
		}
	}
}

func TestEndpointsRefuseWhatThePageCannotMean(t *testing.T) {
	s := startSandbox(t)
	for _, tt := range []struct {
		name, path string
		body       any
	}{
		{"another command", "sandbox/slack/command", map[string]string{"user": s.World.Requester, "command": "/deploy"}},
		{"an unknown person", "sandbox/slack/command", map[string]string{"user": "UNOBODY", "command": "/revoke"}},
		{"a 5xx rate over 100%", "sandbox/owl/faults", faultView{ErrorRate: 2}},
		{"an unknown revocation", "sandbox/owl/revoke", map[string]string{"id": "nope"}},
		{"a modal input of no kind", "sandbox/slack/modal/input", map[string]string{"user": s.World.Requester, "kind": "colour"}},
		{"no JSON", "sandbox/slack/cut", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Error string `json:"error"`
			}
			if st := call(t, "POST", s.URL+tt.path, tt.body, nil, &out); st != http.StatusBadRequest || out.Error == "" {
				t.Errorf("status %d, error %q; want 400 saying why", st, out.Error)
			}
		})
	}
}

// eventLog reads the page's event stream in the background.
type eventLog struct {
	mu    sync.Mutex
	kinds map[string]bool
}

func (e *eventLog) saw(kind string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.kinds[kind]
}

func subscribe(t *testing.T, s *Sandbox) *eventLog {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"sandbox/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	log := &eventLog{kinds: map[string]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if kind, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				log.mu.Lock()
				log.kinds[kind] = true
				log.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { res.Body.Close(); <-done })
	return log
}
