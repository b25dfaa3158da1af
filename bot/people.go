package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"revokebot/revoke"
)

// EmailLookup finds a Slack user by email; *slack.Client satisfies it (users:read.email).
type EmailLookup interface {
	GetUserByEmailContext(ctx context.Context, email string) (*slack.User, error)
}

// People finds the Slack accounts of people AccessOwl names, by email: the admins a thread asks
// to finish a revocation. It implements revoke.People.
type People struct {
	slack EmailLookup
}

var _ revoke.People = People{}

// NewPeople returns People that look people up through api.
func NewPeople(api EmailLookup) People { return People{slack: api} }

// SlackIDByEmail returns the ID of the Slack user with the email, or "" when Slack has none (or
// only a deactivated one or a bot, whom nobody can ask).
func (p People) SlackIDByEmail(ctx context.Context, email string) (string, error) {
	u, err := p.slack.GetUserByEmailContext(ctx, email)
	if SlackErrorCode(err) == "users_not_found" {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up a Slack user by email: %w", err)
	}
	if u.Deleted || u.IsBot {
		return "", nil
	}
	return u.ID, nil
}
