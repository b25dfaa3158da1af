package interactions

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"revokebot/bot"
	"revokebot/commands"
	"revokebot/store"
)

// An offboarding revokes every access a person has, in one request. Its set of accesses is
// listed fresh from AccessOwl when the request is made — never from the form's cache — and fixed
// then: what the approvers see is exactly what is revoked.

// requestAll handles /revoke all @person <reason>.
func (h *Handler) requestAll(ctx context.Context, id uuid.UUID, cmd slack.SlashCommand, c commands.AllOf) {
	person, access, ok := h.personsAccess(ctx, id, cmd, c.Person)
	switch {
	case !ok:
	case len(access) == 0:
		h.answer(ctx, cmd, id.String(), noAccessText(person))
	default:
		r := h.newOffboarding(id, cmd.UserID, person, access, c.Reason)
		h.createRequest(ctx, r, func(text string) { h.answer(ctx, cmd, id.String(), text) })
	}
}

// newOffboarding makes a pending request for every access in access.
func (h *Handler) newOffboarding(id uuid.UUID, requester string, grantee store.Person, access []store.Item, reason string) store.Request {
	r := h.newRequest(id, requester, grantee, access[0], reason)
	r.All, r.Items = true, access
	return r
}

func noAccessText(person store.Person) string {
	return fmt.Sprintf("%s has no active access in AccessOwl, so there is nothing to revoke and no request was made.", bot.Escape(nameOf(person)))
}

func unresolvedMentionText(m commands.Mention) string {
	return fmt.Sprintf("Slack sent `@%s` as plain text, so I cannot tell who that is. Type @ and pick the person from Slack's list.", bot.Escape(m.Handle))
}

// requestText names what a request revokes, for the requester's answer.
func requestText(r store.Request) string {
	if r.All {
		return fmt.Sprintf("all %d of %s's accesses", len(r.Items), bot.Escape(nameOf(r.Grantee)))
	}
	return fmt.Sprintf("%s's access to %s", bot.Escape(nameOf(r.Grantee)), bot.Escape(r.Items[0].Label()))
}

// submitAll makes the offboarding a form asked for, from a fresh listing of the person's access.
func (h *Handler) submitAll(ctx context.Context, cb slack.InteractionCallback, id uuid.UUID, slackID, reason string,
	formError func(string) (any, func(context.Context))) (any, func(context.Context)) {
	person, err := h.Resolver.Person(ctx, slackID)
	var access []store.Item
	if err == nil {
		access, err = h.Resolver.ActiveAccess(ctx, person)
	}
	var input *commands.InputError
	switch {
	case errors.As(err, &input):
		return formError(input.Problem)
	case err != nil:
		return formError(h.lookupFailure(id.String(), err))
	case len(access) == 0:
		return formError(noAccessText(person))
	}
	person.SlackID = slackID
	r := h.newOffboarding(id, cb.User.ID, person, access, reason)
	// An empty ack closes the form; the request is created after it.
	return nil, func(ctx context.Context) {
		h.createRequest(ctx, r, func(text string) { h.tellPrivately(ctx, cb.User.ID, r.ID.String(), text) })
	}
}
