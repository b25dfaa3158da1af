package interactions

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/store"
)

// decide handles a click on Approve or Reject.
func (h *Handler) decide(ctx context.Context, cb slack.InteractionCallback, action slack.BlockAction) {
	clicker := cb.User.ID
	fromButton, err := DecodeButton(action.Value)
	if err != nil {
		h.Log.Error("undecodable button", "user", clicker, "error", err)
		h.respond(ctx, cb.ResponseURL, "", msgInternal)
		return
	}
	id := fromButton.ID.String()
	verb, state := Approve, store.Approved
	if action.ActionID == bot.ActionReject {
		verb, state = Reject, store.Rejected
	}
	if err := h.Approvers.Check(ctx, clicker, verb, fromButton.RequesterID); err != nil {
		var refusal *Refusal
		if !errors.As(err, &refusal) {
			h.Log.Error("could not check the approver", "request_id", id, "user", clicker, "error", err)
			h.respond(ctx, cb.ResponseURL, id, "I could not check with Slack whether you are an approver, so nothing was done. Please try again in a moment.")
			return
		}
		h.audit(ctx, fromButton.ID, clicker, string(verb), "refused", refusal.Message)
		h.respond(ctx, cb.ResponseURL, id, refusal.Message)
		return
	}

	// The button carries what submission needs, so a request this replica never stored can
	// still be decided; the store keeps the richer copy when it has one.
	stored, decided, err := h.Store.Decide(ctx, fromButton, store.Decision{State: state, By: clicker, At: h.Now().UTC()})
	if err != nil {
		h.Log.Error("could not record the decision", "request_id", id, "error", err)
		h.respond(ctx, cb.ResponseURL, id, msgInternal)
		return
	}
	if stored.MessageTS == "" && cb.Container.MessageTs != "" {
		// The store did not know where the request was posted (it was decided from the button
		// alone); the click does, and the tracker needs it to reply in the thread.
		stored.Channel, stored.MessageTS = cb.Container.ChannelID, cb.Container.MessageTs
		if err := h.Store.SetMessage(ctx, stored.ID, stored.Channel, stored.MessageTS); err != nil {
			h.Log.Warn("could not record where the request is posted", "request_id", id, "error", err)
		}
	}

	switch {
	case stored.State == store.Expired:
		h.audit(ctx, stored.ID, clicker, string(verb), "refused", "expired")
		h.respond(ctx, cb.ResponseURL, id, "This request has expired, so it can no longer be decided. The requester can ask again with `/revoke`.")
	case stored.State != state:
		// A click that contradicts the recorded decision changes nothing.
		h.audit(ctx, stored.ID, clicker, string(verb), "refused", "already "+string(stored.State))
		h.respond(ctx, cb.ResponseURL, id, fmt.Sprintf("This request was already %s by <@%s>, so nothing was done.", stored.State, stored.DecidedBy))
	case state == store.Rejected && decided:
		h.audit(ctx, stored.ID, clicker, "reject", "rejected", "")
		h.updateParent(ctx, stored, bot.Progress{})
		h.postInThread(ctx, stored, fmt.Sprintf("<@%s> rejected this request. <@%s>, the access stays.", clicker, stored.RequesterID))
	case state == store.Rejected:
		h.respond(ctx, cb.ResponseURL, id, fmt.Sprintf("This request was already rejected by <@%s>.", stored.DecidedBy))
	default:
		if decided {
			h.audit(ctx, stored.ID, clicker, "approve", "approved", "")
			h.updateParent(ctx, stored, bot.Progress{})
		}
		// An Approve on an approved request goes to AccessOwl again with the same key: its 409
		// says whether the first got through, and after a crash this click completes it.
		h.submit(ctx, stored, clicker, cb.ResponseURL)
	}
}

// submit sends an approved request to AccessOwl with its ID as the Idempotency-Key and acts on
// every outcome.
func (h *Handler) submit(ctx context.Context, r store.Request, clicker, responseURL string) {
	id := r.ID.String()
	r, err := h.Store.MarkSubmitting(ctx, r.ID, h.Now().UTC())
	if err != nil {
		h.Log.Error("could not record the submission", "request_id", id, "error", err)
		h.respond(ctx, responseURL, id, msgInternal)
		return
	}
	// The body is built from the request alone, so every attempt on every replica after every
	// restart sends the same key with the same body.
	rev, err := h.AccessOwl.CreateRevocation(ctx, id, apiclient.NewRevocation{AccessStateID: r.AccessStateID, Reason: r.Reason})
	var (
		already *apiclient.AlreadySubmittedError
		apiErr  *apiclient.Error
	)
	switch {
	case err == nil:
		h.audit(ctx, r.ID, clicker, "submit", "created", rev.ID)
		h.track(ctx, r, *rev)
	case errors.As(err, &already):
		h.alreadySubmitted(ctx, r, clicker, responseURL, already)
	case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden):
		h.Log.Error("AccessOwl refused revokebot's token", "request_id", id, "error", err)
		h.audit(ctx, r.ID, clicker, "submit", "failed", err.Error())
		h.respond(ctx, responseURL, id, "AccessOwl refused revokebot's API token, so nothing was revoked. Please tell whoever runs revokebot; once it is fixed, click Approve again.")
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && apiErr.StatusCode != 429:
		if apiErr.StatusCode == 422 {
			// The body is deterministic, so a 422 is either AccessOwl judging the request or —
			// if the key was seen with another body — a bug in revokebot.
			h.Log.Error("AccessOwl answered 422 to a keyed submission: check whether the body changed", "request_id", id, "status", apiErr.StatusCode, "message", apiErr.Message)
		}
		h.refused(ctx, r, clicker, responseURL, apiErr)
	default:
		// Retries are exhausted: nothing is lost, since the same key makes another click safe.
		h.Log.Warn("submission did not get through", "request_id", id, "error", err)
		h.audit(ctx, r.ID, clicker, "submit", "failed", err.Error())
		h.respond(ctx, responseURL, id, "AccessOwl did not answer, so the revocation may not be submitted yet. Click Approve again to retry: it is safe, AccessOwl will not revoke twice.")
	}
}

// alreadySubmitted handles a 409: AccessOwl has seen this request's key before.
func (h *Handler) alreadySubmitted(ctx context.Context, r store.Request, clicker, responseURL string, already *apiclient.AlreadySubmittedError) {
	id := r.ID.String()
	if r.RevocationID == "" {
		// Nobody recorded what the first attempt created — it was this call's own unanswered
		// attempt, or a process that stopped before recording it — so find it and track it.
		since := r.SubmittedAt
		if !already.FirstAttemptAt.IsZero() && (since.IsZero() || already.FirstAttemptAt.Before(since)) {
			since = already.FirstAttemptAt
		}
		rev, err := h.AccessOwl.FindRevocation(ctx, apiclient.RevocationQuery{
			GranteeUserID: r.Grantee.AccessOwlID, ApplicationID: r.ApplicationID, ResourceID: r.ResourceID,
			Reason: r.Reason, Since: since,
		})
		if err != nil {
			h.Log.Error("submitted, but the revocation could not be found to track it", "request_id", id, "error", err)
			h.audit(ctx, r.ID, clicker, "submit", "already submitted", "revocation not found: "+err.Error())
		} else {
			h.audit(ctx, r.ID, clicker, "submit", "created", rev.ID+" (found after 409)")
			h.track(ctx, r, *rev)
		}
		if already.EarlierAttemptUnseen {
			return // the clicker's own click got through; the thread tells the rest
		}
	} else {
		h.audit(ctx, r.ID, clicker, "submit", "already submitted", r.RevocationID)
	}
	h.respond(ctx, responseURL, id, "This revocation was already submitted to AccessOwl, so nothing more was sent. Its thread shows how it is going.")
}

// refused tells the thread, the parent and the clicker what AccessOwl refused.
func (h *Handler) refused(ctx context.Context, r store.Request, clicker, responseURL string, apiErr *apiclient.Error) {
	reason := refusalText(apiErr)
	h.audit(ctx, r.ID, clicker, "submit", "refused", fmt.Sprintf("%d %s", apiErr.StatusCode, apiErr.Message))
	if err := h.Store.SetRefusal(ctx, r.ID, reason); err != nil {
		h.Log.Error("could not record the refusal", "request_id", r.ID.String(), "error", err)
	}
	h.updateParent(ctx, r, bot.Progress{Refusal: reason})
	h.postInThread(ctx, r, fmt.Sprintf("AccessOwl refused the revocation: %s <@%s>, nothing was revoked.", bot.Escape(reason), r.RequesterID))
	h.respond(ctx, responseURL, r.ID.String(), "AccessOwl refused the revocation: "+bot.Escape(reason))
}

// refusalText says in words a person understands what AccessOwl refused.
func refusalText(e *apiclient.Error) string {
	switch e.StatusCode {
	case 404:
		return "it does not know this access."
	case 400, 422:
		if e.Message != "" {
			return e.Message + "."
		}
		return "it found the request invalid (the access may have ended or already be under revocation)."
	default:
		if e.Message != "" {
			return e.Message + "."
		}
		return fmt.Sprintf("it answered %d.", e.StatusCode)
	}
}

// track records the revocation a request created and hands it to the tracker, which announces
// its status in the thread.
func (h *Handler) track(ctx context.Context, r store.Request, rev apiclient.Revocation) {
	if err := h.Store.SetRevocation(ctx, r.ID, rev.ID); err != nil {
		h.Log.Error("could not record the revocation", "request_id", r.ID.String(), "revocation_id", rev.ID, "error", err)
	}
	r.RevocationID = rev.ID
	if err := h.Tracker.Track(ctx, r, rev); err != nil {
		h.Log.Error("could not start tracking the revocation", "request_id", r.ID.String(), "revocation_id", rev.ID, "error", err)
	}
}

func (h *Handler) updateParent(ctx context.Context, r store.Request, p bot.Progress) {
	if r.MessageTS == "" {
		return
	}
	if err := h.Output.Update(ctx, r.Channel, r.MessageTS, bot.ApprovalMessage(r, p, "")...); err != nil {
		h.Log.Warn("could not update the approval message", "request_id", r.ID.String(), "error", err)
	}
}

func (h *Handler) postInThread(ctx context.Context, r store.Request, text string) {
	if r.MessageTS == "" {
		return
	}
	if _, err := h.Output.Post(ctx, r.Channel, slack.MsgOptionText(text, false), slack.MsgOptionTS(r.MessageTS)); err != nil {
		h.Log.Warn("could not post in the request's thread", "request_id", r.ID.String(), "error", err)
	}
}

// ResumeSubmissions finishes the submissions a stop interrupted: approved requests with neither
// a revocation nor a refusal. The same key and body make this safe whether the interrupted POST
// reached AccessOwl or not — a 409 leads to the revocation, which is then tracked. Several
// replicas may resume the same request; AccessOwl processes it once.
func (h *Handler) ResumeSubmissions(ctx context.Context) error {
	pending, err := h.Store.Unsubmitted(ctx)
	if err != nil {
		return fmt.Errorf("resume submissions: %w", err)
	}
	for _, r := range pending {
		if ctx.Err() != nil {
			return nil
		}
		h.Log.Info("resuming an interrupted submission", "request_id", r.ID.String(), "approved_by", r.DecidedBy)
		h.audit(ctx, r.ID, store.BotActor, "resume", "ok", "approved by "+r.DecidedBy)
		h.submit(ctx, r, store.BotActor, "")
	}
	return nil
}
