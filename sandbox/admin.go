package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// What the admin panel does as AccessOwl's admins, and the fault it injects into Slack.

func (s *Sandbox) owlRevoke(_ context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		ID string `json:"id"`
	}](body)
	if err != nil {
		return nil, err
	}
	return s.Owl.Revoke(in.ID)
}

// rejection is what the panel is told after a rejection: the revocation, and who said why in the
// request's thread, if it was found.
type rejection struct {
	Revocation owltest.Revocation `json:"revocation"`
	SaidBy     string             `json:"said_by,omitempty"`
	ThreadTS   string             `json:"thread_ts,omitempty"`
}

// owlReject rejects a revocation as an admin of its application and, since AccessOwl's API does
// not give revokebot the reason, has that admin say it in the request's thread, as a person
// would: the reason then reaches the people who asked.
func (s *Sandbox) owlReject(_ context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
	}](body)
	if err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		return nil, errors.New("say why the access stays: the reason is shown to the people who asked")
	}
	v, err := s.Owl.Reject(in.ID, reason)
	if err != nil {
		return nil, err
	}
	out := rejection{Revocation: v}
	admin, thread := s.adminOf(v.ApplicationID), s.threadOf(v.ID)
	if admin == "" || thread == "" {
		return out, nil
	}
	if _, err := s.Slack.PostAsUser(admin, s.World.Channel, thread, "I rejected this revocation in AccessOwl: "+reason); err != nil {
		return nil, fmt.Errorf("say the reason in the thread: %w", err)
	}
	out.SaidBy, out.ThreadTS = admin, thread
	return out, nil
}

// adminOf is the Slack user of the application's first admin, or of its owner.
func (s *Sandbox) adminOf(applicationID string) string {
	for _, a := range s.Owl.Applications() {
		if a.ID != applicationID {
			continue
		}
		for _, id := range append(slices.Clone(a.AdminUserIDs), a.OwnerUserID) {
			for _, u := range s.Owl.Users() {
				if u.ID == id && s.World.SlackID[u.Email] != "" {
					return s.World.SlackID[u.Email]
				}
			}
		}
	}
	return ""
}

// threadOf finds the approval message of a revocation through the bot's replies, whose metadata
// names their revocation.
func (s *Sandbox) threadOf(revocationID string) string {
	for _, m := range s.Slack.Messages(s.World.Channel) {
		if m.ReplyCount == 0 {
			continue
		}
		for _, r := range s.Slack.Thread(s.World.Channel, m.TS) {
			var md struct {
				Payload struct {
					RevocationID string `json:"revocation_id"`
				} `json:"event_payload"`
			}
			if json.Unmarshal(r.Metadata, &md) == nil && md.Payload.RevocationID == revocationID {
				return m.TS
			}
		}
	}
	return ""
}

// cutSocket closes the bot's Socket Mode connections and waits for it to open a new one, so the
// page can say how long the bot was away: it reconnects in well under a second.
func (s *Sandbox) cutSocket(ctx context.Context, _ json.RawMessage) (any, error) {
	old := s.Slack.Connections()
	cut := time.Now()
	s.Slack.CutConnections()
	s.log.Info("sandbox: cut the bot's Socket Mode connections", "connections", len(old))
	_, err := s.Slack.WaitConnections(ctx, func(cs []fakeslack.Connection) bool {
		return slices.ContainsFunc(cs, func(c fakeslack.Connection) bool {
			return !slices.ContainsFunc(old, func(o fakeslack.Connection) bool { return o.ID == c.ID })
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cut %d connections; the bot has not reconnected yet: %w", len(old), err)
	}
	back := time.Since(cut)
	s.log.Info("sandbox: the bot reconnected", "after", back)
	return map[string]any{"cut": len(old), "reconnected_ms": back.Milliseconds()}, nil
}
