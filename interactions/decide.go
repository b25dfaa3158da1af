package interactions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/revoke"
	"revokebot/store"
)

// click is what deciding needs from a click on Approve, Reject or Retry now.
type click struct {
	user        string // the clicker's Slack ID
	responseURL string
	channel     string // where the clicked message is
	messageTS   string
	actionID    string
	value       string // the button's value (bot.EncodeButton)
}

// decide handles a click on Approve, Reject or Retry now (which is an Approve of an approved
// request: it submits again). The store is the truth: the button only names
// the request, every rule is checked against the stored request, and a button the store does
// not back is refused. What the click did is told to the clicker; the message and the thread
// are told by the lifecycle.
func (h *Handler) decide(ctx context.Context, c click) {
	clicker := c.user
	b, err := bot.DecodeButton(c.value)
	if err != nil {
		h.Log.Error("undecodable button", "user", clicker, "error", err)
		h.respond(ctx, c.responseURL, "", "revokebot cannot read this button, so nothing was done.")
		return
	}
	id := b.RequestID.String()
	verb, state, audited := Approve, store.Approved, store.ActionApprove
	if c.actionID == bot.ActionReject {
		verb, state, audited = Reject, store.Rejected, store.ActionReject
	}
	refuse := func(detail, answer string) {
		h.Lifecycle.Audit(ctx, store.AuditRecord{RequestID: b.RequestID, Actor: clicker, Action: audited, Outcome: store.OutcomeRefused, Detail: detail})
		h.respond(ctx, c.responseURL, id, answer)
	}
	stored, err := h.Lifecycle.Request(ctx, b.RequestID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Not a request this bot posted, or one removed since: nothing a click may act on.
		h.Log.Error("a click names a request revokebot has no record of: refused", "request_id", id, "user", clicker, "channel", c.channel)
		refuse("unknown request", "revokebot has no record of this request, so nothing was done. If the access should still go, ask again with `/revoke`.")
		return
	case err != nil:
		h.Log.Error("could not read the request", "request_id", id, "error", err)
		h.respond(ctx, c.responseURL, id, msgInternal)
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
			h.respond(ctx, c.responseURL, id, "I could not check with Slack whether you may decide this request, so nothing was done. Please try again in a moment.")
			return
		}
		refuse(refusal.Message, refusal.Message)
		return
	}
	d, err := h.Lifecycle.Decide(ctx, revoke.Click{
		RequestID: b.RequestID,
		Decision:  store.Decision{State: state, By: clicker, At: h.Now().UTC()},
		Channel:   c.channel, MessageTS: c.messageTS,
	})
	if err != nil {
		h.Log.Error("could not record the decision", "request_id", id, "error", err)
		h.respond(ctx, c.responseURL, id, msgInternal)
		return
	}
	if text := answer(d, state); text != "" {
		h.respond(ctx, c.responseURL, id, text)
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
		if d.Decided {
			// This click decided the request; another approver's, at the same moment, sent
			// some of it first. The approval is this person's, and the thread tells the rest.
			return ""
		}
		return "This revocation was already submitted to AccessOwl, so nothing more was sent. Its thread shows how it is going."
	case revoke.Refused:
		return "AccessOwl refused the revocation: " + bot.Escape(worst.Refusal)
	case revoke.TokenRefused:
		return "AccessOwl refused revokebot's API token, so nothing was revoked. Please tell whoever runs revokebot; once it is fixed, click Approve again."
	case revoke.NotAnswered:
		var spent *apiclient.BudgetError
		if errors.As(worst.Err, &spent) {
			return fmt.Sprintf("Approved. AccessOwl's hourly request budget is spent, so the revocation is not submitted yet: revokebot submits it by itself when room frees, in about %s. The request's thread will say when.", roughly(spent.Wait))
		}
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

// roughly says a wait the way a person would: "a minute", "12 minutes", "2 hours".
func roughly(d time.Duration) string {
	switch m := int(d.Round(time.Minute).Minutes()); {
	case m <= 1:
		return "a minute"
	case m < 120:
		return fmt.Sprintf("%d minutes", m)
	default:
		return fmt.Sprintf("%d hours", (m+30)/60)
	}
}
