package interactions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/revoke"
	"revokebot/secret"
	"revokebot/store"
)

// FuzzAccessOwlAnswers answers every request of the resolver with the same arbitrary body, as
// an AccessOwl that ignored its filters, sent someone else's data, malformed JSON or a list far
// larger than asked would. Whatever it says, the resolver must not panic, and what it accepts
// must be what was asked: the person has the email Slack shows, and every access listed for a
// person is theirs in the body AccessOwl sent.
func FuzzAccessOwlAnswers(f *testing.F) {
	lenaState := `{"id":"as-1","application_id":"app-1","grantee_user_id":"owl-lena","effective_end":null,` +
		`"application":{"id":"app-1","title":"Zoom"},"target_permissions":[{"id":"p1","title":"Admin","elevated":true}]}`
	kimState := strings.Replace(lenaState, `"owl-lena"`, `"owl-kim"`, 1)
	var big strings.Builder
	for i := range 2000 {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"id":"as-%d","application_id":"app-1","grantee_user_id":"owl-lena","effective_end":null}`, i)
	}
	for _, seed := range []string{
		`{"data":[` + lenaState + `],"meta":{"next_cursor":null}}`,
		`{"data":[` + lenaState + `,` + kimState + `]}`,
		`{"data":[{"id":"owl-kim","email":"kim.berg@example.com"}]}`,
		`{"data":[{"id":"owl-lena","email":"LENA.VOGEL@example.com"},{"id":"owl-kim","email":"kim.berg@example.com"}]}`,
		`{"data":[` + big.String() + `]}`,
		`{"data":[` + lenaState + `],"meta":{"next_cursor":"c1"}}`,
		`{"data":[{"id":"as-1","grantee_user_id":null}]}`,
		`{"data":{"id":"as-1"}}`, `{"data":null}`, `{"data":[null]}`, `{"data":[`, `[]`, `null`, ``, `not json`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		owl, err := apiclient.New("http://accessowl.test", secret.New("token"),
			apiclient.WithHTTPClient(&http.Client{Transport: answerWith(body)}), apiclient.WithRetry(1, time.Millisecond, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		r := NewResolver(owl, slackEmails{"U0LENA": "lena.vogel@example.com"}, nil)
		if p, err := r.Person(t.Context(), "U0LENA"); err == nil && !strings.EqualFold(p.Email, "lena.vogel@example.com") {
			t.Fatalf("accepted %+v for lena.vogel@example.com", p)
		}
		lena := store.Person{AccessOwlID: "owl-lena", SlackID: "U0LENA"}
		items, err := r.ActiveAccess(t.Context(), lena)
		if err == nil {
			theirs := grantees(body)
			for _, it := range items {
				if !theirs[strings.ToLower(it.AccessStateID)]["owl-lena"] {
					t.Fatalf("listed access state %q for owl-lena; the body says it is %v's", it.AccessStateID, theirs[it.AccessStateID])
				}
			}
		}
		p, it, err := r.AccessState(t.Context(), "as-1")
		if err == nil && (!strings.EqualFold(it.AccessStateID, "as-1") || (p.AccessOwlID != "" && !grantees(body)["as-1"][p.AccessOwlID])) {
			t.Fatalf("asked for as-1, got %+v of %+v", it, p)
		}
	})
}

// answerWith is a transport that answers every request 200 with body.
type answerWith []byte

func (b answerWith) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

// grantees reads, independently of the client, whose each access state in an answer is, by its
// ID in lower case (IDs are UUIDs, and an answer may repeat one).
func grantees(body []byte) map[string]map[string]bool {
	var page struct {
		Data []struct {
			ID      string  `json:"id"`
			Grantee *string `json:"grantee_user_id"`
		} `json:"data"`
	}
	out := map[string]map[string]bool{}
	if json.Unmarshal(body, &page) != nil {
		return out
	}
	for _, s := range page.Data {
		if id := strings.ToLower(s.ID); s.Grantee != nil {
			if out[id] == nil {
				out[id] = map[string]bool{}
			}
			out[id][*s.Grantee] = true
		}
	}
	return out
}

// FuzzAButtonAgainstTheStore clicks Approve, Reject or Retry now with arbitrary button values,
// by arbitrary people, on a store holding one pending request. The store is the truth: a click
// reaches the lifecycle only if its button names the stored request and the clicker may decide
// it (an approver, not its grantee, and not its requester unless rejecting); anything else is
// refused, and nothing panics.
func FuzzAButtonAgainstTheStore(f *testing.F) {
	stored := store.Request{
		ID: uuid.MustParse("2b1e4c4e-8f3a-4a8e-9a55-2f0d6c1b7e11"), RequesterID: "U0REQ", State: store.Pending,
		Grantee: store.Person{AccessOwlID: "owl-lena", SlackID: "U0LENA", Email: "lena.vogel@example.com"},
		Items:   []store.Item{{AccessStateID: "as-1", ApplicationID: "app-1", ApplicationTitle: "Zoom"}},
		Reason:  "left", Channel: "C1", MessageTS: "1.1", CreatedAt: time.Unix(1_800_000_000, 0).UTC(),
	}
	current, err := bot.EncodeButton(stored)
	if err != nil {
		f.Fatal(err)
	}
	// Slack keeps one account per email in a workspace, so the grantee is U0LENA alone.
	clickers := []string{"U0APP", "U0REQ", "U0LENA", "U0OUT", ""}
	for _, seed := range []struct {
		value  string
		who    byte
		action byte
	}{
		{current, 0, 0}, {current, 0, 1}, {current, 0, 2}, {current, 1, 0}, {current, 2, 1}, {current, 3, 0}, {current, 4, 0},
		{`{"v":2,"id":"` + uuid.NewString() + `"}`, 0, 0},
		{`{"v":1,"id":"` + stored.ID.String() + `","as":"as-2","rs":"left","g":"owl-lena","q":"U0REQ","c":"C1","t":1800000000}`, 0, 0},
		{`{"v":1,"id":"` + stored.ID.String() + `","as":"as-1","rs":"left","g":"owl-lena","q":"U0APP","c":"C1","t":1800000000}`, 0, 0},
		{`{"v":3,"id":"` + stored.ID.String() + `"}`, 0, 0}, {`{"v":2}`, 0, 0}, {`{}`, 0, 0}, {`null`, 0, 0}, {``, 0, 0},
	} {
		f.Add(seed.value, seed.who, seed.action)
	}
	actions := []string{bot.ActionApprove, bot.ActionReject, bot.ActionRetry}
	f.Fuzz(func(t *testing.T, value string, who, action byte) {
		life := &oneRequest{stored: stored}
		dir := &fakeGroups{emails: map[string]string{"U0LENA": "lena.vogel@example.com"}}
		h := NewHandler("C1", Deps{
			Lifecycle: life,
			Approvers: NewApprovers([]string{"U0APP", "U0REQ", "U0LENA"}, nil, false, dir, nil),
			Output:    discardOutput{},
			Log:       slog.New(slog.DiscardHandler),
			Now:       func() time.Time { return stored.CreatedAt.Add(time.Hour) },
		})
		c := click{user: clickers[int(who)%len(clickers)], responseURL: "https://hooks.slack.test/r", channel: "C1", messageTS: "1.1",
			actionID: actions[int(action)%len(actions)], value: value}
		h.decide(t.Context(), c)
		life.mu.Lock()
		defer life.mu.Unlock()
		if len(life.decided) == 0 {
			return
		}
		b, err := bot.DecodeButton(value)
		switch {
		case err != nil:
			t.Fatalf("an undecodable button %q reached the lifecycle", value)
		case b.RequestID != stored.ID || life.decided[0].RequestID != stored.ID:
			t.Fatalf("a button naming %s decided %s", b.RequestID, life.decided[0].RequestID)
		case b.Claims != nil && b.Disagrees(stored) != "":
			t.Fatalf("a button that disagrees with the store on its %s was acted on", b.Disagrees(stored))
		case c.user != "U0APP" && (c.user != "U0REQ" || c.actionID != bot.ActionReject):
			// An approver who asked may withdraw their request, never approve it.
			t.Fatalf("%q, who may not %s this request, decided it", c.user, c.actionID)
		}
	})
}

// oneRequest is a lifecycle whose store holds one request; it records the decisions it is asked
// to make.
type oneRequest struct {
	stored  store.Request
	mu      sync.Mutex
	decided []revoke.Click
}

func (l *oneRequest) Create(context.Context, store.Request) (store.Request, bool, error) {
	return store.Request{}, false, fmt.Errorf("not in this test")
}

func (l *oneRequest) Request(_ context.Context, id uuid.UUID) (store.Request, error) {
	if id != l.stored.ID {
		return store.Request{}, store.ErrNotFound
	}
	return l.stored, nil
}

func (l *oneRequest) Decide(_ context.Context, c revoke.Click) (revoke.Decided, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.decided = append(l.decided, c)
	r := l.stored
	r.State, r.DecidedBy = c.Decision.State, c.Decision.By
	return revoke.Decided{Request: r, Decided: true}, nil
}

func (l *oneRequest) Audit(context.Context, store.AuditRecord) {}

// discardOutput sends nothing anywhere.
type discardOutput struct{}

func (discardOutput) Post(context.Context, string, ...slack.MsgOption) (string, error) {
	return "", nil
}
func (discardOutput) Respond(context.Context, string, ...slack.MsgOption) error { return nil }
