package interactions

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/bot"
	"revokebot/revoke"
	"revokebot/store"
)

// marks is a lifecycle holding one request and the ask of its revocation; it answers marks as
// AccessOwl would: the first one sent, the same one again a 409.
type marks struct {
	oneRequest
	ask    store.Ask
	mu     sync.Mutex
	marked []revoke.Mark
}

func (m *marks) Ask(_ context.Context, requestID uuid.UUID, revocationID string) (store.Ask, error) {
	if requestID != m.ask.RequestID || revocationID != m.ask.RevocationID {
		return store.Ask{}, revoke.ErrNotAsked
	}
	return m.ask, nil
}

func (m *marks) Mark(_ context.Context, mk revoke.Mark) (revoke.Marked, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, earlier := range m.marked {
		if earlier.Revoked == mk.Revoked {
			return revoke.Marked{Result: revoke.MarkedBefore}, nil
		}
	}
	m.marked = append(m.marked, mk)
	status := store.Status("revoked")
	if !mk.Revoked {
		status = "rejected"
	}
	return revoke.Marked{Result: revoke.MarkSent, Status: status}, nil
}

func (m *marks) sent() []revoke.Mark {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]revoke.Mark(nil), m.marked...)
}

func (m *marks) Audit(context.Context, store.AuditRecord) {}

// answers keeps what people were told, by response_url or in a direct message.
type answers struct {
	mu    sync.Mutex
	texts []string
	views []slack.ModalViewRequest
}

func (a *answers) add(options []slack.MsgOption) {
	_, values, err := slack.UnsafeApplyMsgOptions("", "", "", options...)
	if err != nil {
		panic(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.texts = append(a.texts, values.Get("text"))
}

func (a *answers) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.texts) == 0 {
		return ""
	}
	return a.texts[len(a.texts)-1]
}

func (a *answers) Post(_ context.Context, _ string, options ...slack.MsgOption) (string, error) {
	a.add(options)
	return "1.1", nil
}

func (a *answers) Respond(_ context.Context, _ string, options ...slack.MsgOption) error {
	a.add(options)
	return nil
}

func (a *answers) OpenViewContext(_ context.Context, _ string, view slack.ModalViewRequest) (*slack.ViewResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.views = append(a.views, view)
	return &slack.ViewResponse{}, nil
}

func (a *answers) UpdateViewContext(context.Context, slack.ModalViewRequest, string, string, string) (*slack.ViewResponse, error) {
	return &slack.ViewResponse{}, nil
}

func (a *answers) GetPermalinkContext(context.Context, *slack.PermalinkParameters) (string, error) {
	return "", nil
}

func (a *answers) OpenConversationContext(context.Context, *slack.OpenConversationParameters) (*slack.Channel, bool, bool, error) {
	return &slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "D1"}}}, false, false, nil
}

// markRig is a handler over one request whose revocation's ask named U0ADMIN, with U0APP an
// approver and U0LENA the person whose access goes (and an approver too).
func markRig(t *testing.T) (*Handler, *marks, *answers, string) {
	t.Helper()
	stored := store.Request{
		ID: uuid.MustParse("2b1e4c4e-8f3a-4a8e-9a55-2f0d6c1b7e11"), RequesterID: "U0REQ", State: store.Approved, DecidedBy: "U0APP",
		Grantee: store.Person{AccessOwlID: "owl-lena", SlackID: "U0LENA", Email: "lena.vogel@example.com"},
		Items:   []store.Item{{AccessStateID: "as-1", ApplicationID: "app-1", ApplicationTitle: "AWS", ProvisioningType: "application_admin", RevocationID: "rev-1"}},
		Reason:  "left", Channel: "C1", MessageTS: "1.1", CreatedAt: time.Unix(1_800_000_000, 0).UTC(),
	}
	life := &marks{oneRequest: oneRequest{stored: stored}, ask: store.Ask{RevocationID: "rev-1", RequestID: stored.ID, AccessStateID: "as-1", Asked: []string{"U0ADMIN"}}}
	out := &answers{}
	h := NewHandler("C1", Deps{
		Lifecycle: life,
		Marks:     life,
		Slack:     out,
		Output:    out,
		Approvers: NewApprovers([]string{"U0APP", "U0LENA"}, nil, false, &fakeGroups{}, nil),
		Log:       slog.New(slog.DiscardHandler),
	})
	value, err := bot.EncodeAskButton(stored.ID, "rev-1")
	if err != nil {
		t.Fatal(err)
	}
	return h, life, out, value
}

// clickAsk delivers a click on an ask's button and runs the work it asks for.
func clickAsk(t *testing.T, h *Handler, user, actionID, value, ts string) {
	t.Helper()
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: user}, ResponseURL: "https://hooks.slack.test/r", TriggerID: "trigger"}
	cb.ActionCallback.BlockActions = []*slack.BlockAction{{ActionID: actionID, Value: value, ActionTs: ts}}
	reply := h.Interaction(cb)
	if reply.Work != nil {
		reply.Work(t.Context())
	}
}

func TestOnlyTheAskedAndTheApproversMayMark(t *testing.T) {
	tests := []struct {
		name       string
		user       string
		wantMarked bool
		wantAnswer string
	}{
		{"an asked admin may", "U0ADMIN", true, "AccessOwl has it"},
		{"an approver who was not asked may", "U0APP", true, "AccessOwl has it"},
		{"someone else may not, and nothing is sent", "U0OUT", false, "not allowed"},
		{"the grantee may not, even as an approver", "U0LENA", false, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, life, out, value := markRig(t)
			clickAsk(t, h, tt.user, bot.ActionMarkRevoked, value, "1.0001")
			if got := len(life.sent()) == 1; got != tt.wantMarked {
				t.Errorf("marked = %v, want %v", got, tt.wantMarked)
			}
			if !strings.Contains(out.last(), tt.wantAnswer) {
				t.Errorf("answer %q does not say %q", out.last(), tt.wantAnswer)
			}
		})
	}
}

func TestASecondMarkIsAnsweredAlreadyMarked(t *testing.T) {
	h, life, out, value := markRig(t)
	clickAsk(t, h, "U0ADMIN", bot.ActionMarkRevoked, value, "1.0001")
	clickAsk(t, h, "U0ADMIN", bot.ActionMarkRevoked, value, "1.0001") // the same click redelivered: dropped
	clickAsk(t, h, "U0APP", bot.ActionMarkRevoked, value, "1.0002")   // a second click
	if n := len(life.sent()); n != 1 {
		t.Errorf("%d marks made, want 1", n)
	}
	if !strings.Contains(out.last(), "already marked") {
		t.Errorf("answer to the second click %q does not say already marked", out.last())
	}
}

func TestAButtonTheStoreDoesNotBackIsRefused(t *testing.T) {
	h, life, out, _ := markRig(t)
	other, _ := bot.EncodeAskButton(uuid.New(), "rev-1")
	for _, value := range []string{other, "garbage"} {
		clickAsk(t, h, "U0ADMIN", bot.ActionMarkRevoked, value, "1.0003")
		if !strings.Contains(out.last(), "nothing was done") {
			t.Errorf("answer %q to a button naming nothing known", out.last())
		}
	}
	if n := len(life.sent()); n != 0 {
		t.Errorf("%d marks made, want none", n)
	}
}

func TestCouldNotRevokeOpensTheFormAndSendsItsReason(t *testing.T) {
	h, life, out, value := markRig(t)
	clickAsk(t, h, "U0OUT", bot.ActionCouldNotRevoke, value, "1.0001")
	if len(out.views) != 0 {
		t.Fatalf("the form opened for someone who may not mark")
	}
	clickAsk(t, h, "U0ADMIN", bot.ActionCouldNotRevoke, value, "1.0002")
	if len(out.views) != 1 || out.views[0].CallbackID != bot.ReasonCallback || out.views[0].PrivateMetadata != value {
		t.Fatalf("views opened: %+v; want the reason form carrying the button", out.views)
	}

	submit := func(user, reason string) bot.Reply {
		cb := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: user}}
		cb.View = slack.View{CallbackID: bot.ReasonCallback, PrivateMetadata: value, State: &slack.ViewState{
			Values: map[string]map[string]slack.BlockAction{bot.BlockMarkReason: {bot.ActionMarkReason: {Value: reason}}}}}
		return h.Interaction(cb)
	}
	for _, bad := range []string{"   ", strings.Repeat("é", 256)} {
		reply := submit("U0ADMIN", bad)
		if resp, ok := reply.Ack.(*slack.ViewSubmissionResponse); !ok || resp.Errors[bot.BlockMarkReason] == "" || reply.Work != nil {
			t.Errorf("a reason of %d characters was not refused in the form: %+v", len([]rune(bad)), reply)
		}
	}
	reply := submit("U0ADMIN", "  Still on call this week ")
	if reply.Ack != nil || reply.Work == nil {
		t.Fatalf("a good reason: ack %+v; want the form closed and the work done after", reply.Ack)
	}
	reply.Work(t.Context())
	sent := life.sent()
	if len(sent) != 1 || sent[0].Revoked || sent[0].Reason != "Still on call this week" || sent[0].By != "U0ADMIN" {
		t.Errorf("marks = %+v; want one reject with the trimmed reason by U0ADMIN", sent)
	}
	outsider := submit("U0OUT", "a forged form")
	outsider.Work(t.Context())
	if n := len(life.sent()); n != 1 {
		t.Errorf("a form sent by someone who may not mark made a mark")
	}
}
