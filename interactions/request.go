package interactions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/commands"
	"revokebot/revoke"
	"revokebot/store"
)

// maxChoices is how many matching accesses an answer lists before asking for a narrower name.
const maxChoices = 10

// requestByState handles /revoke <access_state_id> <reason>.
func (h *Handler) requestByState(ctx context.Context, id uuid.UUID, cmd slack.SlashCommand, c commands.ByAccessState) {
	grantee, item, err := h.Resolver.AccessState(ctx, c.AccessStateID.String())
	note := ""
	switch {
	case errors.Is(err, ErrStateUnknown):
		// AccessOwl has no GET for one access state; it will judge the ID on submission.
		note = "I could not find this access state's details in AccessOwl, so the request shows its ID only; AccessOwl checks it when the revocation is submitted."
	case err != nil:
		h.answerLookupError(ctx, cmd, id, err)
		return
	}
	r := h.newRequest(id, cmd.UserID, grantee, item, c.Reason)
	h.createRequest(ctx, r, func(text string) { h.answer(ctx, cmd, id.String(), strings.TrimSpace(text+" "+note)) })
}

// requestByPerson handles /revoke @person <application> <reason>.
func (h *Handler) requestByPerson(ctx context.Context, id uuid.UUID, cmd slack.SlashCommand, c commands.ByPerson) {
	person, access, ok := h.personsAccess(ctx, id, cmd, c.Person)
	if !ok {
		return
	}
	matches := commands.MatchApplication(access, c.Application)
	switch {
	case len(matches) == 0:
		h.answer(ctx, cmd, id.String(), noMatchText(person, c.Application, access))
	case len(matches) > 1:
		h.answer(ctx, cmd, id.String(), "", choicesMessage(person, c.Application, matches, c.Reason)...)
	default:
		r := h.newRequest(id, cmd.UserID, person, matches[0], c.Reason)
		h.createRequest(ctx, r, func(text string) { h.answer(ctx, cmd, id.String(), text) })
	}
}

// personsAccess looks up the person a command names and lists their active access, fresh from
// AccessOwl; when it cannot, it answers the command and returns false.
func (h *Handler) personsAccess(ctx context.Context, id uuid.UUID, cmd slack.SlashCommand, m commands.Mention) (store.Person, []store.Item, bool) {
	if m.UserID == "" {
		h.answer(ctx, cmd, id.String(), unresolvedMentionText(m))
		return store.Person{}, nil, false
	}
	person, err := h.Resolver.Person(ctx, m.UserID)
	var access []store.Item
	if err == nil {
		access, err = h.Resolver.ActiveAccess(ctx, person)
	}
	if err != nil {
		h.answerLookupError(ctx, cmd, id, err)
		return store.Person{}, nil, false
	}
	return person, access, true
}

// newRequest makes a pending request for one access of grantee, asked by requester.
func (h *Handler) newRequest(id uuid.UUID, requester string, grantee store.Person, item store.Item, reason string) store.Request {
	return store.Request{
		ID:          id,
		RequesterID: requester,
		Grantee:     grantee,
		Items:       []store.Item{item},
		Reason:      reason,
		Channel:     h.channel,
		CreatedAt:   h.Now().UTC(),
		State:       store.Pending,
	}
}

// createRequest stores r and posts its approval message, once however often it is asked; tell
// gets the sentence for the requester.
func (h *Handler) createRequest(ctx context.Context, r store.Request, tell func(string)) {
	posted, ok, err := h.Lifecycle.Create(ctx, r)
	switch {
	case errors.Is(err, revoke.ErrNotPosted):
		h.Log.Error("could not post the approval request", "request_id", r.ID.String(), "channel", r.Channel, "error", err)
		tell(fmt.Sprintf("I could not post your request in %s, so nobody can approve it yet. Please tell whoever runs revokebot: it must be invited to that channel.", bot.Channel(r.Channel)))
		return
	case err != nil:
		h.Log.Error("could not store a request", "request_id", r.ID.String(), "error", err)
		tell(msgInternal)
		return
	case !ok:
		return // the same interaction again: the delivery that posted it answered
	}
	link := h.permalink(ctx, posted.Channel, posted.MessageTS)
	when := "when the access is gone"
	if len(r.Items) > 1 {
		when = "when every access has been revoked or refused"
	}
	tell(fmt.Sprintf("Your request to revoke %s is posted%s. Approvers decide there; you will be mentioned in its thread %s.",
		requestText(r), link, when))
}

func (h *Handler) permalink(ctx context.Context, channel, ts string) string {
	link, err := h.Slack.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
	if err != nil || link == "" {
		return " in " + bot.Channel(channel)
	}
	return fmt.Sprintf(" in %s (<%s|view it>)", bot.Channel(channel), link)
}

// answerLookupError tells the person why their request could not be made: their input, in
// their words, or a fixed message with the details in the log.
func (h *Handler) answerLookupError(ctx context.Context, cmd slack.SlashCommand, id uuid.UUID, err error) {
	var input *commands.InputError
	if errors.As(err, &input) {
		h.answer(ctx, cmd, id.String(), input.Error())
		return
	}
	h.answer(ctx, cmd, id.String(), h.lookupFailure(id.String(), err))
}

// lookupFailure logs why a lookup for a person failed and returns what they are told.
func (h *Handler) lookupFailure(requestID string, err error) string {
	var spent *apiclient.BudgetError
	switch {
	case errors.As(err, &spent):
		h.Log.Warn("lookup not sent: the hourly budget is spent", "request_id", requestID, "error", err)
		return fmt.Sprintf("AccessOwl's hourly request budget is spent, so nothing could be looked up and nothing was changed. Please try again in about %s.", roughly(spent.Wait))
	case errors.Is(err, ErrMismatch):
		h.Log.Error("AccessOwl's answer does not match the lookup: refused", "request_id", requestID, "error", err)
		return "AccessOwl answered with someone else's details than I asked for, so I stopped and nothing was changed. Please tell whoever runs revokebot; the details are in its logs."
	case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden):
		h.Log.Error("lookup failed", "request_id", requestID, "error", err)
		return "AccessOwl refused revokebot's API token, so nothing can be looked up. Please tell whoever runs revokebot."
	}
	h.Log.Error("lookup failed", "request_id", requestID, "error", err)
	return "I could not reach AccessOwl to look that up, and nothing was changed. Please try again in a minute."
}

func noMatchText(person store.Person, app string, access []store.Item) string {
	if len(access) == 0 {
		return noAccessText(person)
	}
	titles := map[string]bool{}
	var list []string
	for _, a := range access {
		if !titles[a.ApplicationTitle] {
			titles[a.ApplicationTitle] = true
			list = append(list, bot.Escape(a.ApplicationTitle))
		}
	}
	return fmt.Sprintf("%s has no active access to an application matching “%s”. Their active access is to: %s.",
		bot.Escape(nameOf(person)), bot.Escape(app), strings.Join(list, ", "))
}

func choicesText(person store.Person, app string, matches []store.Item, reason string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d active accesses matching “%s”. Which one? Run the command of the one to revoke:\n",
		bot.Escape(nameOf(person)), len(matches), bot.Escape(app))
	for i, m := range matches {
		if i == maxChoices {
			fmt.Fprintf(&b, "…and %d more: name the application more precisely, or use `/revoke` alone to pick from a list.", len(matches)-maxChoices)
			break
		}
		fmt.Fprintf(&b, "• %s: `/revoke %s %s`\n", bot.Escape(m.Label()), m.AccessStateID, bot.Escape(reason))
	}
	return b.String()
}

func nameOf(p store.Person) string {
	switch {
	case p.Name != "":
		return p.Name
	case p.Email != "":
		return p.Email
	case p.SlackID != "":
		return bot.Mention(p.SlackID)
	default:
		return "this person"
	}
}

// status handles /revoke status <revocation_id>.
func (h *Handler) status(ctx context.Context, cmd slack.SlashCommand, c commands.Status) {
	id := c.RevocationID.String()
	rev, err := h.Status.GetRevocation(apiclient.Lookup(ctx), id)
	switch {
	case errors.Is(err, apiclient.ErrNotFound):
		h.respond(ctx, cmd.ResponseURL, id, fmt.Sprintf("AccessOwl has no revocation `%s`. Check the ID in the request's thread.", id))
		return
	case err != nil:
		h.respond(ctx, cmd.ResponseURL, id, h.lookupFailure(id, err))
		return
	}
	if !strings.EqualFold(rev.ID, id) {
		h.respond(ctx, cmd.ResponseURL, id, h.lookupFailure(id, fmt.Errorf("%w: asked for revocation %s, answered %s", ErrMismatch, id, rev.ID)))
		return
	}
	r, err := h.Status.RequestByRevocation(ctx, id)
	app := ""
	for _, it := range r.Items {
		if err == nil && strings.EqualFold(it.RevocationID, id) {
			app = it.ApplicationTitle
		}
	}
	text := fmt.Sprintf("Revocation `%s` (submitted %s): %s", id, rev.InsertedAt.UTC().Format("2006-01-02 15:04 MST"),
		bot.RevocationStatus(rev.Status, string(rev.ProvisioningType), app))
	if err == nil && r.MessageTS != "" {
		text += " Its request" + h.permalink(ctx, r.Channel, r.MessageTS) + "."
	}
	h.respond(ctx, cmd.ResponseURL, id, text)
}
