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

// decide handles a click on Approve or Reject: who may, then what the lifecycle made of it,
// told to the clicker. The message and the thread are told by the lifecycle.
func (h *Handler) decide(ctx context.Context, cb slack.InteractionCallback, action slack.BlockAction) {
	clicker := cb.User.ID
	fromButton, err := bot.DecodeButton(action.Value)
	if err != nil {
		h.Log.Error("undecodable button", "user", clicker, "error", err)
		h.respond(ctx, cb.ResponseURL, "", msgInternal)
		return
	}
	id := fromButton.ID.String()
	verb, state, audited := Approve, store.Approved, store.ActionApprove
	if action.ActionID == bot.ActionReject {
		verb, state, audited = Reject, store.Rejected, store.ActionReject
	}
	if err := h.Approvers.Check(ctx, clicker, verb, fromButton.RequesterID); err != nil {
		var refusal *Refusal
		if !errors.As(err, &refusal) {
			h.Log.Error("could not check the approver", "request_id", id, "user", clicker, "error", err)
			h.respond(ctx, cb.ResponseURL, id, "I could not check with Slack whether you are an approver, so nothing was done. Please try again in a moment.")
			return
		}
		h.Lifecycle.Audit(ctx, store.AuditRecord{RequestID: fromButton.ID, Actor: clicker, Action: audited, Outcome: store.OutcomeRefused, Detail: refusal.Message})
		h.respond(ctx, cb.ResponseURL, id, refusal.Message)
		return
	}
	// The click knows where the request is posted, which the store may not (it was decided
	// from the button alone), and the thread replies need it.
	fromButton.Channel, fromButton.MessageTS = cb.Container.ChannelID, cb.Container.MessageTs
	d, err := h.Lifecycle.Decide(ctx, fromButton, store.Decision{State: state, By: clicker, At: h.Now().UTC()})
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
		return "AccessOwl did not answer, so the revocation may not be submitted yet. Click Approve again to retry: it is safe, AccessOwl will not revoke twice."
	case revoke.Failed:
		return msgInternal
	}
	return "" // created: the thread announces it
}
