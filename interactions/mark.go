package interactions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/revoke"
	"revokebot/store"
)

// Marks finishes admin-provisioned revocations from their ask in the thread; *revoke.Service
// satisfies it.
type Marks interface {
	Ask(ctx context.Context, requestID uuid.UUID, revocationID string) (store.Ask, error)
	Mark(ctx context.Context, m revoke.Mark) (revoke.Marked, error)
}

// The refusals of a mark.
var (
	errNotAsked = &Refusal{Message: "You are not allowed to mark this revocation: only the people its thread asked and the approvers can."}
	errOwnMark  = &Refusal{Message: "You are not allowed to mark the revocation of your own access: one of the people asked, or an approver, has to."}
)

// MayMark returns nil if user may mark the revocation an ask is about — one of the people it
// asked, or an approver — and a *Refusal if not. The person whose access goes may not, whoever
// else they are. Slack failing to say who is in a group refuses too.
func (a *Approvers) MayMark(ctx context.Context, user string, r store.Request, ask store.Ask) error {
	grantee, err := a.isGrantee(ctx, user, r.Grantee)
	if err != nil {
		return fmt.Errorf("check who may mark: %w", err)
	}
	if grantee {
		return errOwnMark
	}
	if slices.Contains(ask.Asked, user) || a.users[user] {
		return nil
	}
	for _, group := range a.groups {
		members, err := a.members(ctx, group)
		if err != nil {
			return fmt.Errorf("check who may mark: %w", err)
		}
		if members[user] {
			return nil
		}
	}
	return errNotAsked
}

// markClick is what a click on Mark revoked or Could not revoke needs.
type markClick struct {
	user        string
	responseURL string
	triggerID   string
	value       string // bot.EncodeAskButton
}

// authorizeMark checks a click against the store: the button must name an ask the bot made, and
// the clicker must be allowed. It returns what the button names and true, or tells the clicker
// why not.
func (h *Handler) authorizeMark(ctx context.Context, user, value string, action store.Action, tell func(string)) (bot.AskButton, bool) {
	b, err := bot.DecodeAskButton(value)
	if err != nil {
		h.Log.Error("undecodable ask button", "user", user, "error", err)
		tell("revokebot cannot read this button, so nothing was done.")
		return b, false
	}
	id := b.RequestID.String()
	refuse := func(detail, answer string) {
		h.Lifecycle.Audit(ctx, store.AuditRecord{RequestID: b.RequestID, Actor: user, Action: action, Outcome: store.OutcomeRefused,
			Detail: "revocation " + b.RevocationID + ": " + detail})
		tell(answer)
	}
	ask, err := h.Marks.Ask(ctx, b.RequestID, b.RevocationID)
	if errors.Is(err, revoke.ErrNotAsked) {
		h.Log.Error("a click names an ask revokebot has no record of: refused", "request_id", id, "revocation_id", b.RevocationID, "user", user)
		refuse("unknown ask", "revokebot has no record of asking about this revocation, so nothing was done.")
		return b, false
	}
	var stored store.Request
	if err == nil {
		stored, err = h.Lifecycle.Request(ctx, b.RequestID)
	}
	if err != nil {
		h.Log.Error("could not read the ask", "request_id", id, "revocation_id", b.RevocationID, "error", err)
		tell(msgInternal)
		return b, false
	}
	if err := h.Approvers.MayMark(ctx, user, stored, ask); err != nil {
		var refusal *Refusal
		if !errors.As(err, &refusal) {
			h.Log.Error("could not check who may mark", "request_id", id, "user", user, "error", err)
			tell("I could not check with Slack whether you may mark this revocation, so nothing was done. Please try again in a moment.")
			return b, false
		}
		refuse(refusal.Message, refusal.Message)
		return b, false
	}
	return b, true
}

// markRevoked handles Mark revoked: AccessOwl is told the access is gone.
func (h *Handler) markRevoked(ctx context.Context, c markClick) {
	tell := func(text string) { h.respond(ctx, c.responseURL, "", text) }
	b, ok := h.authorizeMark(ctx, c.user, c.value, store.ActionMarkRevoked, tell)
	if !ok {
		return
	}
	h.mark(ctx, revoke.Mark{RequestID: b.RequestID, RevocationID: b.RevocationID, By: c.user, Revoked: true}, tell)
}

// openReasonForm handles Could not revoke: it opens the form that asks why. Its trigger lasts
// 3 s, so it is checked and opened at once; the form is checked again when it is sent.
func (h *Handler) openReasonForm(ctx context.Context, c markClick) {
	tell := func(text string) { h.respond(ctx, c.responseURL, "", text) }
	b, ok := h.authorizeMark(ctx, c.user, c.value, store.ActionCouldNotRevoke, tell)
	if !ok {
		return
	}
	r, err := h.Lifecycle.Request(ctx, b.RequestID)
	if err != nil {
		tell(msgInternal)
		return
	}
	var it store.Item
	for _, item := range r.Items {
		if item.RevocationID == b.RevocationID {
			it = item
		}
	}
	if _, err := h.Slack.OpenViewContext(ctx, c.triggerID, bot.ReasonModal(c.value, it)); err != nil {
		h.Log.Error("could not open the Could not revoke form", "request_id", b.RequestID.String(), "user", c.user, "error", err)
		tell("I could not open the form (Slack said: " + bot.Escape(err.Error()) + "). Please click Could not revoke again.")
	}
}

// submitReason handles the Could not revoke form: the reason is checked in the ack, and
// AccessOwl is told after it.
func (h *Handler) submitReason(cb slack.InteractionCallback) bot.Reply {
	var values map[string]map[string]slack.BlockAction
	if cb.View.State != nil {
		values = cb.View.State.Values
	}
	reason := strings.TrimSpace(values[bot.BlockMarkReason][bot.ActionMarkReason].Value)
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return bot.Reply{Ack: slack.NewErrorsViewSubmissionResponse(map[string]string{bot.BlockMarkReason: "Say why the access could not be removed."})}
	case n > apiclient.MaxReasonLength:
		return bot.Reply{Ack: slack.NewErrorsViewSubmissionResponse(map[string]string{bot.BlockMarkReason: fmt.Sprintf(
			"The reason is %d characters long; AccessOwl takes at most %d.", n, apiclient.MaxReasonLength)})}
	}
	user, value := cb.User.ID, cb.View.PrivateMetadata
	return bot.Reply{Priority: bot.PriorityHigh, Work: func(ctx context.Context) {
		tell := func(text string) { h.tellPrivately(ctx, user, "", text) }
		b, ok := h.authorizeMark(ctx, user, value, store.ActionCouldNotRevoke, tell)
		if !ok {
			return
		}
		h.mark(ctx, revoke.Mark{RequestID: b.RequestID, RevocationID: b.RevocationID, By: user, Reason: reason}, tell)
	}}
}

// mark sends the mark and tells the clicker what came of it; the thread says how the
// revocation ended.
func (h *Handler) mark(ctx context.Context, m revoke.Mark, tell func(string)) {
	got, err := h.Marks.Mark(ctx, m)
	if err != nil {
		h.Log.Error("could not mark a revocation", "request_id", m.RequestID.String(), "revocation_id", m.RevocationID, "error", err)
		tell(msgInternal)
		return
	}
	tell(markAnswer(got, m.Revoked))
}

// markAnswer is what the clicker is told about a mark.
func markAnswer(got revoke.Marked, revoked bool) string {
	switch got.Result {
	case revoke.MarkSent:
		if got.Status == "" || (revoked && got.Status == apiclient.RevocationRevoked) || (!revoked && got.Status == apiclient.RevocationRejected) {
			return "Thanks: AccessOwl has it. The thread says how the revocation ended."
		}
		return fmt.Sprintf("AccessOwl took the mark and the revocation is now *%s* (no access was left to remove). The thread says so.", bot.Escape(string(got.Status)))
	case revoke.MarkedBefore:
		return "This revocation was already marked, so nothing more was sent to AccessOwl."
	case revoke.MarkClosed:
		return fmt.Sprintf("This revocation was already marked *%s* in AccessOwl, so nothing was changed.", bot.Escape(string(got.Status)))
	}
	var spent *apiclient.BudgetError
	if errors.As(got.Err, &spent) {
		return fmt.Sprintf("AccessOwl's hourly request budget is spent, so nothing was marked. Please try again in about %s, or mark it in AccessOwl.", roughly(spent.Wait))
	}
	return "AccessOwl did not take the mark, so nothing changed. Please try again in a moment, or mark it in AccessOwl itself."
}
