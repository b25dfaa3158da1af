package interactions

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"revokebot/bot"
	"revokebot/revoke"
	"revokebot/store"
)

// decide handles a click on Approve, Reject or Retry now (which is an Approve of an approved
// request: it submits again). The store is the truth: the button only names
// the request, every rule is checked against the stored request, and a button the store does
// not back is refused. What the click did is told to the clicker; the message and the thread
// are told by the lifecycle.
func (h *Handler) decide(ctx context.Context, cb slack.InteractionCallback, action slack.BlockAction) {
	clicker := cb.User.ID
	b, err := bot.DecodeButton(action.Value)
	if err != nil {
		h.Log.Error("undecodable button", "user", clicker, "error", err)
		h.respond(ctx, cb.ResponseURL, "", "revokebot cannot read this button, so nothing was done.")
		return
	}
	id := b.RequestID.String()
	verb, state, audited := Approve, store.Approved, store.ActionApprove
	if action.ActionID == bot.ActionReject {
		verb, state, audited = Reject, store.Rejected, store.ActionReject
	}
	refuse := func(detail, answer string) {
		h.Lifecycle.Audit(ctx, store.AuditRecord{RequestID: b.RequestID, Actor: clicker, Action: audited, Outcome: store.OutcomeRefused, Detail: detail})
		h.respond(ctx, cb.ResponseURL, id, answer)
	}
	stored, err := h.Lifecycle.Request(ctx, b.RequestID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Not a request this bot posted, or one removed since: nothing a click may act on.
		h.Log.Error("a click names a request revokebot has no record of: refused", "request_id", id, "user", clicker, "channel", cb.Container.ChannelID)
		refuse("unknown request", "revokebot has no record of this request, so nothing was done. If the access should still go, ask again with `/revoke`.")
		return
	case err != nil:
		h.Log.Error("could not read the request", "request_id", id, "error", err)
		h.respond(ctx, cb.ResponseURL, id, msgInternal)
		return
	}
	if field := b.Disagrees(stored); field != "" {
		h.Log.Error("a button disagrees with the stored request: refused", "request_id", id, "user", clicker, "field", field)
		refuse("the button disagrees with the stored request on its "+field, "This button does not match the request revokebot recorded, so nothing was done.")
		return
	}
	if err := h.Approvers.Check(ctx, clicker, verb, stored); err != nil {
		var refusal *Refusal
		if !errors.As(err, &refusal) {
			h.Log.Error("could not check the approver", "request_id", id, "user", clicker, "error", err)
			h.respond(ctx, cb.ResponseURL, id, "I could not check with Slack whether you may decide this request, so nothing was done. Please try again in a moment.")
			return
		}
		refuse(refusal.Message, refusal.Message)
		return
	}
	d, err := h.Lifecycle.Decide(ctx, revoke.Click{
		RequestID: b.RequestID,
		Decision:  store.Decision{State: state, By: clicker, At: h.Now().UTC()},
		Channel:   cb.Container.ChannelID, MessageTS: cb.Container.MessageTs,
	})
	if err != nil {
		h.Log.Error("could not record the decision", "request_id", id, "error", err)
		h.respond(ctx, cb.ResponseURL, id, msgInternal)
		return
	}
	if text := answer(d, state); text != "" {
		h.respond(ctx, cb.ResponseURL, id, text)
	}
}

// answer is what the clicker is told about their click; "" when the message and the thread
// already say it.
func answer(d revoke.Decided, asked store.State) string {
	r := d.Request
	switch {
	case r.State == store.Expired:
		return "This request has expired, so it can no longer be decided. The requester can ask again with `/revoke`."
	case r.State != asked:
		return fmt.Sprintf("This request was already %s by %s, so nothing was done.", r.State, bot.Mention(r.DecidedBy))
	case asked == store.Rejected && !d.Decided:
		return fmt.Sprintf("This request was already rejected by %s.", bot.Mention(r.DecidedBy))
	case asked == store.Rejected:
		return ""
	}
	worst := d.Submission.Worst()
	switch worst.Result {
	case revoke.AlreadySubmitted:
		return "This revocation was already submitted to AccessOwl, so nothing more was sent. Its thread shows how it is going."
	case revoke.Refused:
		return "AccessOwl refused the revocation: " + bot.Escape(worst.Refusal)
	case revoke.TokenRefused:
		return "AccessOwl refused revokebot's API token, so nothing was revoked. Please tell whoever runs revokebot; once it is fixed, click Approve again."
	case revoke.NotAnswered:
		return "AccessOwl did not answer, so the revocation is not submitted yet. revokebot keeps retrying by itself with the same key, so AccessOwl will not revoke twice; the request's message has a Retry now button to try at once."
	case revoke.Unconfirmed:
		return "This request was first sent to AccessOwl longer ago than AccessOwl remembers, and its revocation cannot be found, so revokebot will not send it again (that could revoke twice). Please check the revocation in AccessOwl."
	case revoke.Mismatched:
		return "AccessOwl answered with a revocation of a different access than this request's, so revokebot stopped and tracks nothing. Please check AccessOwl, and tell whoever runs revokebot."
	case revoke.Failed:
		return msgInternal
	}
	return "" // created: the thread announces it
}
