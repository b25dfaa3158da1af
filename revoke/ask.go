package revoke

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"revokebot/apiclient"
	"revokebot/store"
)

// People finds the Slack accounts of the people AccessOwl names; package bot implements it with
// users.lookupByEmail.
type People interface {
	// SlackIDByEmail returns the ID of the Slack user with the given email, or "" if there is
	// none.
	SlackIDByEmail(ctx context.Context, email string) (string, error)
}

// directoryTTL is how long an application's admins, and who they are in Slack, are trusted
// before AccessOwl and Slack are asked again: an hour keeps a burst of an offboarding's asks to
// one lookup per application and person, and a change of admins is seen the same day.
const directoryTTL = time.Hour

// directory remembers, for a while, who administers an application and who an AccessOwl user
// is in Slack, so that asking costs the budget little.
type directory struct {
	admins expiring[[]string] // by application ID: admins, then the owner, each once
	slack  expiring[string]   // by AccessOwl user ID: their Slack ID, "" when not in Slack
}

// expiring is a map whose entries are trusted for directoryTTL.
type expiring[V any] struct {
	mu      sync.Mutex
	entries map[string]fetched[V]
}

type fetched[V any] struct {
	value V
	at    time.Time
}

// get returns the entry for key if it was put less than directoryTTL before now.
func (e *expiring[V]) get(key string, now time.Time) (V, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, ok := e.entries[key]
	if !ok || now.Sub(f.at) >= directoryTTL {
		var zero V
		return zero, false
	}
	return f.value, true
}

// put remembers value for key, fetched at now.
func (e *expiring[V]) put(key string, value V, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.entries == nil {
		e.entries = make(map[string]fetched[V])
	}
	e.entries[key] = fetched[V]{value: value, at: now}
}

// whoToAsk returns the Slack IDs of the application's admins and owner who are in Slack, except
// the person whose access goes (they may not finish their own revocation); nil when there is
// none, and the approvers are to be asked. An application or a person AccessOwl no longer has
// counts as no one; other failures are returned, and the ask is tried again later.
func (s *Service) whoToAsk(ctx context.Context, applicationID, granteeID string) ([]string, error) {
	if s.people == nil || applicationID == "" {
		return nil, nil
	}
	userIDs, err := s.adminsOf(ctx, applicationID)
	if err != nil {
		return nil, err
	}
	var asked []string
	for _, id := range userIDs {
		if id == granteeID {
			continue
		}
		slackID, err := s.slackIDOf(ctx, id)
		if err != nil {
			return nil, err
		}
		if slackID != "" && !slices.Contains(asked, slackID) {
			asked = append(asked, slackID)
		}
	}
	return asked, nil
}

// adminsOf returns the AccessOwl user IDs of an application's admins and owner.
func (s *Service) adminsOf(ctx context.Context, applicationID string) ([]string, error) {
	now := s.now()
	if ids, ok := s.directory.admins.get(applicationID, now); ok {
		return ids, nil
	}
	app, err := s.owl.GetApplication(apiclient.Background(ctx), applicationID)
	var ids []string
	switch {
	case errors.Is(err, apiclient.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("look up the admins of application %s: %w", applicationID, err)
	default:
		ids = slices.Clone(app.AdminUserIDs)
		if app.OwnerUserID != nil && !slices.Contains(ids, *app.OwnerUserID) {
			ids = append(ids, *app.OwnerUserID)
		}
	}
	s.directory.admins.put(applicationID, ids, now)
	return ids, nil
}

// slackIDOf returns the Slack ID of an AccessOwl user, matched by email, or "".
func (s *Service) slackIDOf(ctx context.Context, userID string) (string, error) {
	now := s.now()
	if slackID, ok := s.directory.slack.get(userID, now); ok {
		return slackID, nil
	}
	u, err := s.owl.GetUser(apiclient.Background(ctx), userID)
	var slackID string
	switch {
	case errors.Is(err, apiclient.ErrNotFound):
	case err != nil:
		return "", fmt.Errorf("look up AccessOwl user %s: %w", userID, err)
	case strings.TrimSpace(u.Email) != "":
		if slackID, err = s.people.SlackIDByEmail(ctx, strings.TrimSpace(u.Email)); err != nil {
			return "", fmt.Errorf("look up AccessOwl user %s in Slack: %w", userID, err)
		}
	}
	s.directory.slack.put(userID, slackID, now)
	return slackID, nil
}

// askAdmins asks in the thread the people who administer the application of an
// admin-provisioned revocation to remove the access and mark it, once. The ask is saved before
// it is posted, so that whoever posts it — this call, another replica, recovery after a crash —
// names the same people, and the buttons let exactly them (and the approvers) act.
func (s *Service) askAdmins(ctx context.Context, row store.Tracked) error {
	r, err := s.store.Request(ctx, row.RequestID)
	if err != nil {
		return fmt.Errorf("ask the admins of revocation %s: %w", row.RevocationID, err)
	}
	it, ok := r.Item(row.AccessStateID)
	if !ok {
		return fmt.Errorf("ask the admins of revocation %s: %w: its item", row.RevocationID, store.ErrNotFound)
	}
	it.RevocationID = row.RevocationID
	asked, err := s.whoToAsk(ctx, it.ApplicationID, r.Grantee.AccessOwlID)
	if err != nil {
		return fmt.Errorf("ask the admins of revocation %s: %w", row.RevocationID, err)
	}
	a, err := s.store.SaveAsk(ctx, store.Ask{RevocationID: row.RevocationID, RequestID: r.ID, AccessStateID: it.AccessStateID,
		Asked: asked, AskedAt: s.now()})
	if err != nil {
		return fmt.Errorf("ask the admins of revocation %s: %w", row.RevocationID, err)
	}
	e := Event{Kind: AdminsAsked, Item: it, RevocationID: row.RevocationID, Status: apiclient.RevocationProcessing, Asked: a.Asked}
	claimed, err := s.announce(ctx, r, e, "")
	if errors.Is(err, errInFlight) {
		return nil
	}
	if claimed {
		who := "the approvers"
		if len(a.Asked) > 0 {
			who = strings.Join(a.Asked, ", ")
		}
		s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: store.BotActor, Action: store.ActionAsk, Outcome: store.OutcomeOK,
			Detail: fmt.Sprintf("revocation %s: asked %s", row.RevocationID, who)})
	}
	if err != nil {
		return err
	}
	// The revocation may have become final while the ask waited for its turn in Slack; its
	// buttons must not outlive it.
	if t, terr := s.store.TrackedRevocation(ctx, row.RevocationID); terr == nil && t.Status.Done() {
		s.closeAsk(ctx, r, it, t.Status)
	}
	return nil
}

// closeAsk brings the ask of a revocation that became final up to date: its buttons go,
// however it ended — a click here, someone in AccessOwl's web app, AccessOwl itself.
func (s *Service) closeAsk(ctx context.Context, r store.Request, it store.Item, status store.Status) {
	e := Event{Kind: AdminsAsked, Item: it, RevocationID: it.RevocationID, Status: status}
	p, err := s.store.Post(ctx, r.ID, e.Key())
	if err != nil || p.PostedTS == "" || p.PostedTS == noThread {
		return // never asked, or not posted yet: the ask looks at the status once it is posted
	}
	if a, err := s.store.Ask(ctx, it.RevocationID); err == nil {
		e.Asked = a.Asked
	}
	uctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if err := s.notifier.UpdateReply(uctx, r, p.PostedTS, e); err != nil {
		s.log.Warn("could not take the buttons off an ask", "request_id", r.ID.String(), "revocation_id", it.RevocationID, "error", err)
	}
}

// withAsk completes an event that recovery rebuilt from its key with what the store knows
// beside the key: who was asked, and where the revocation stands.
func (s *Service) withAsk(ctx context.Context, e Event) Event {
	if e.Kind != AdminsAsked && e.Kind != AdminsReminded {
		return e
	}
	if a, err := s.store.Ask(ctx, e.RevocationID); err == nil {
		e.Asked = a.Asked
	}
	e.Status = apiclient.RevocationProcessing
	if t, err := s.store.TrackedRevocation(ctx, e.RevocationID); err == nil && t.Status != "" {
		e.Status = t.Status
	}
	return e
}
