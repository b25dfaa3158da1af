package interactions

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/commands"
	"revokebot/revoke"
	"revokebot/store"
)

// requestNamespace makes request IDs from interaction IDs: uuid.NewSHA1 of the same slash
// command's trigger_id or the same modal's view ID is always the same request.
var requestNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://revokebot.dev/requests"))

// clickMemory is how long a click is remembered so that the same click delivered twice (a
// redelivery, a second connection) is acted on once by this replica.
const clickMemory = 10 * time.Minute

// msgInternal is what people are told when something on revokebot's side goes wrong; details
// go to the log.
const msgInternal = "Something went wrong on revokebot's side, and nothing was changed. Please try again; if it keeps failing, tell whoever runs revokebot (they can find the details in its logs)."

// Lifecycle is what becomes of a request once its meaning is known; *revoke.Service satisfies
// it.
type Lifecycle interface {
	Create(ctx context.Context, r store.Request) (store.Request, bool, error)
	Request(ctx context.Context, id uuid.UUID) (store.Request, error)
	Decide(ctx context.Context, c revoke.Click) (revoke.Decided, error)
	Audit(ctx context.Context, a store.AuditRecord)
}

// StatusSource answers /revoke status: AccessOwl's word on a revocation, and the request that
// made it.
type StatusSource interface {
	GetRevocation(ctx context.Context, id string) (*apiclient.Revocation, error)
	RequestByRevocation(ctx context.Context, revocationID string) (store.Request, error)
}

// SlackAPI is what the handler calls on Slack besides sending messages; *slack.Client satisfies
// it.
type SlackAPI interface {
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	UpdateViewContext(ctx context.Context, view slack.ModalViewRequest, externalID, hash, viewID string) (*slack.ViewResponse, error)
	GetPermalinkContext(ctx context.Context, params *slack.PermalinkParameters) (string, error)
	OpenConversationContext(ctx context.Context, params *slack.OpenConversationParameters) (*slack.Channel, bool, bool, error)
}

// Output is how the handler sends messages; *bot.Output satisfies it.
type Output interface {
	Post(ctx context.Context, channel string, options ...slack.MsgOption) (string, error)
	Respond(ctx context.Context, responseURL string, options ...slack.MsgOption) error
}

// Deps are the handler's collaborators.
type Deps struct {
	Lifecycle Lifecycle
	Status    StatusSource
	Resolver  *Resolver
	Slack     SlackAPI
	Output    Output
	Approvers *Approvers
	// Marks finishes admin-provisioned revocations from their ask; nil answers those buttons
	// that nothing can be done.
	Marks Marks
	Log   *slog.Logger
	Now   func() time.Time // nil for the real clock
	// Clicks, when set, is where replicas sharing one store record the clicks they handle, so a
	// click Slack delivers to two of them is handled once; nil remembers this replica's only.
	Clicks ClickLog
}

// ClickLog remembers clicks across replicas.
type ClickLog interface {
	// FirstClick records a click by its key and reports whether no replica recorded it within
	// memory.
	FirstClick(ctx context.Context, key string, memory time.Duration) (bool, error)
}

// Handler is revokebot's answer to every slash command and interaction: it implements
// bot.Handler.
type Handler struct {
	Deps
	channel string

	lookups  *limiter // how fast each person may start lookups in AccessOwl
	requests *limiter // how fast each person may make requests by command

	mu        sync.Mutex
	clicks    map[string]time.Time // recently handled clicks
	lastSweep time.Time            // when clicks was last cleared of old entries
}

var _ bot.Handler = (*Handler)(nil)

// NewHandler returns a handler that posts approval requests in channel.
func NewHandler(channel string, deps Deps) *Handler {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Handler{Deps: deps, channel: channel, clicks: make(map[string]time.Time), lookups: newLimiter(lookupBurst, lookupEvery), requests: newLimiter(requestBurst, requestEvery)}
}

// SlashCommand answers /revoke. Input errors and help are answered in the ack itself; anything
// that needs AccessOwl is acknowledged with a note and done on a worker.
func (h *Handler) SlashCommand(cmd slack.SlashCommand) bot.Reply {
	parsed, err := commands.Parse(cmd.Text)
	if err != nil {
		return bot.Reply{Ack: ephemeral(err.Error())}
	}
	id := uuid.NewSHA1(requestNamespace, []byte("slash:"+cmd.TriggerID))
	var (
		limit *limiter
		what  string
	)
	switch parsed.(type) {
	case commands.ByAccessState, commands.ByPerson, commands.AllOf:
		limit, what = h.requests, "requests"
	case commands.Status:
		limit, what = h.lookups, "lookups"
	}
	if limit != nil {
		if ok, wait := limit.allow(cmd.UserID, h.Now()); !ok {
			h.Log.Info("refused: too many from one person", "user", cmd.UserID, "kind", what, "retry_in", wait)
			return bot.Reply{Ack: ephemeral(limit.slowDownText(what, wait))}
		}
	}
	switch c := parsed.(type) {
	case commands.Help:
		return bot.Reply{Ack: ephemeral(commands.HelpText)}
	case commands.OpenModal:
		return bot.Reply{Priority: bot.PriorityLow, Work: func(ctx context.Context) { h.openModal(ctx, cmd) }}
	case commands.Status:
		return bot.Reply{Priority: bot.PriorityLow, Work: func(ctx context.Context) { h.status(ctx, cmd, c) }}
	case commands.ByAccessState:
		return lookingUp(id, fmt.Sprintf("Looking up access state `%s`…", c.AccessStateID),
			func(ctx context.Context) { h.requestByState(ctx, id, cmd, c) })
	case commands.ByPerson:
		return lookingUp(id, fmt.Sprintf("Looking up %s's access to %s…", personText(c.Person), bot.Escape(c.Application)),
			func(ctx context.Context) { h.requestByPerson(ctx, id, cmd, c) })
	case commands.AllOf:
		return lookingUp(id, fmt.Sprintf("Looking up all of %s's access…", personText(c.Person)),
			func(ctx context.Context) { h.requestAll(ctx, id, cmd, c) })
	default:
		return bot.Reply{Ack: ephemeral(commands.HelpText)}
	}
}

// Interaction answers buttons, modal submissions and option lists.
func (h *Handler) Interaction(cb slack.InteractionCallback) bot.Reply {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		return h.blockActions(cb)
	case slack.InteractionTypeViewSubmission:
		switch {
		case cb.View.CallbackID == bot.ModalCallback:
			return h.submitModal(cb)
		case cb.View.CallbackID == bot.ReasonCallback && h.Marks != nil:
			return h.submitReason(cb)
		}
	case slack.InteractionTypeBlockSuggestion:
		if cb.View.CallbackID == bot.ModalCallback {
			return h.suggestAccess(cb)
		}
	}
	return bot.Reply{}
}

func (h *Handler) blockActions(cb slack.InteractionCallback) bot.Reply {
	if len(cb.ActionCallback.BlockActions) == 0 {
		return bot.Reply{}
	}
	action := cb.ActionCallback.BlockActions[0]
	switch action.ActionID {
	case bot.ActionApprove, bot.ActionReject, bot.ActionRetry:
		if !h.firstTime(cb.User.ID, action) {
			requestID := ""
			if b, err := bot.DecodeButton(action.Value); err == nil {
				requestID = b.RequestID.String()
			}
			h.Log.Info("ignored a click delivered twice", "request_id", requestID, "user", cb.User.ID, "action", action.ActionID, "action_ts", action.ActionTs)
			return bot.Reply{}
		}
		// The job may wait in the queue behind slow AccessOwl calls, so it holds the few fields
		// deciding needs rather than the whole callback (about 4 KB besides its strings).
		c := click{
			user: cb.User.ID, responseURL: cb.ResponseURL, channel: cb.Container.ChannelID, messageTS: cb.Container.MessageTs,
			actionID: action.ActionID, value: action.Value,
		}
		key := clickKey(cb.User.ID, action)
		return bot.Reply{Priority: bot.PriorityHigh, Work: func(ctx context.Context) {
			if !h.firstAcrossReplicas(ctx, key, c) {
				return
			}
			h.decide(ctx, c)
		}}
	case bot.ActionMarkRevoked, bot.ActionCouldNotRevoke:
		if h.Marks == nil || !h.firstTime(cb.User.ID, action) {
			return bot.Reply{}
		}
		c := markClick{user: cb.User.ID, responseURL: cb.ResponseURL, triggerID: cb.TriggerID, value: action.Value}
		if action.ActionID == bot.ActionCouldNotRevoke {
			return bot.Reply{Priority: bot.PriorityHigh, Work: func(ctx context.Context) { h.openReasonForm(ctx, c) }}
		}
		return bot.Reply{Priority: bot.PriorityHigh, Work: func(ctx context.Context) { h.markRevoked(ctx, c) }}
	case ActionChooseAccess:
		return h.chooseAccess(cb, action.Value)
	case bot.ActionPerson:
		if cb.View.CallbackID == bot.ModalCallback {
			ok, wait := h.lookups.allow(cb.User.ID, h.Now())
			if !ok {
				h.Log.Info("refused: too many from one person", "user", cb.User.ID, "kind", "lookups", "retry_in", wait)
			}
			return bot.Reply{Priority: bot.PriorityLow, Work: func(ctx context.Context) {
				if !ok {
					h.showNote(ctx, cb, action.SelectedUser, h.lookups.slowDownText("lookups", wait))
					return
				}
				h.choosePerson(ctx, cb, action.SelectedUser)
			}}
		}
	}
	return bot.Reply{}
}

// firstTime reports whether this replica sees a click for the first time. Only an exact
// repetition — same person, same button of the same request (its value), same action_ts — is
// dropped: deduplication is by request and action, and action_ts alone does not name a request.
func (h *Handler) firstTime(user string, action *slack.BlockAction) bool {
	key := clickKey(user, action)
	now := h.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	// This runs on the read loop: old entries are swept once a minute, not on every click.
	if now.Sub(h.lastSweep) > time.Minute {
		for k, at := range h.clicks {
			if now.Sub(at) > clickMemory {
				delete(h.clicks, k)
			}
		}
		h.lastSweep = now
	}
	if at, seen := h.clicks[key]; seen && now.Sub(at) <= clickMemory {
		return false
	}
	h.clicks[key] = now
	return true
}

func clickKey(user string, action *slack.BlockAction) string {
	return user + "|" + action.ActionID + "|" + action.ActionTs + "|" + action.Value
}

// firstAcrossReplicas reports whether no other replica handled the click, on a worker since it
// asks the shared store. A store that cannot answer lets the click through: the decision's
// compare-and-set and AccessOwl's idempotency key keep a click handled twice harmless.
func (h *Handler) firstAcrossReplicas(ctx context.Context, key string, c click) bool {
	if h.Clicks == nil {
		return true
	}
	first, err := h.Clicks.FirstClick(ctx, key, clickMemory)
	if err != nil {
		h.Log.Warn("could not check the click against the other replicas", "user", c.user, "action", c.actionID, "error", err)
		return true
	}
	if !first {
		h.Log.Info("ignored a click another replica handled", "user", c.user, "action", c.actionID)
	}
	return first
}

// respond tells the person behind an interaction something only they see.
func (h *Handler) respond(ctx context.Context, responseURL, requestID, text string) {
	if responseURL == "" {
		return
	}
	if err := h.Output.Respond(ctx, responseURL, slack.MsgOptionText(text, false)); err != nil {
		h.Log.Warn("could not answer the person", "request_id", requestID, "error", err)
	}
}

// lookingUp acks a command with note and then runs work, whose answer replaces the note
// (answer). The note goes as a Payload, acked on the worker that then runs Work, rather than as
// an Ack, which the session sends after handing Work to the pool: a quick answer could then reach
// the person before the note it replaces. Work runs after the ack even when the worker started
// too late for the payload (the fallback is the same note), so no request is lost.
func lookingUp(id uuid.UUID, note string, work func(context.Context)) bot.Reply {
	return bot.Reply{
		RequestID: id.String(), Priority: bot.PriorityHigh, Fallback: ephemeral(note),
		Payload: func(context.Context) (any, func(context.Context)) { return ephemeral(note), nil },
		Work:    work,
	}
}

// answer answers a command acked by lookingUp, in place of its "Looking up…" note; options, if
// any, replace text.
func (h *Handler) answer(ctx context.Context, cmd slack.SlashCommand, requestID, text string, options ...slack.MsgOption) {
	if cmd.ResponseURL == "" {
		return
	}
	if len(options) == 0 {
		options = []slack.MsgOption{slack.MsgOptionText(text, false)}
	}
	if err := h.Output.Respond(ctx, cmd.ResponseURL, append(options, slack.MsgOptionReplaceOriginal(cmd.ResponseURL))...); err != nil {
		h.Log.Warn("could not answer the person", "request_id", requestID, "error", err)
	}
}

// ephemeral is an ack payload that shows text to the person who ran the command.
func ephemeral(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "text": text}
}

func personText(m commands.Mention) string {
	if m.UserID != "" {
		return bot.Mention(m.UserID)
	}
	return "@" + bot.Escape(m.Handle)
}
