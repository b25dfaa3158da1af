package revoke

import (
	"context"
	"fmt"

	"revokebot/store"
)

// ResumeSubmissions finishes the submissions a stop interrupted: the items of approved requests
// with neither a revocation nor a refusal. The same key and body make this safe whether the
// interrupted POST reached AccessOwl or not — a 409 leads to the revocation, which is then
// tracked. Several replicas may resume the same request; AccessOwl processes it once. Each
// request is resumed through Config.Spawn, so a shutdown drains it like any other work.
func (s *Service) ResumeSubmissions(ctx context.Context) error {
	pending, err := s.store.Unsubmitted(ctx)
	if err != nil {
		return fmt.Errorf("resume submissions: %w", err)
	}
	for _, r := range pending {
		if ctx.Err() != nil {
			return nil
		}
		var unsettled []store.Item
		for _, it := range r.Items {
			if !it.Settled() {
				unsettled = append(unsettled, it)
			}
		}
		resume := func(ctx context.Context) {
			s.log.Info("resuming an interrupted submission", "request_id", r.ID.String(), "approved_by", r.DecidedBy, "items", len(unsettled))
			s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: store.BotActor, Action: store.ActionResume, Outcome: store.OutcomeOK, Detail: "approved by " + r.DecidedBy})
			s.Submit(ctx, r, unsettled, store.BotActor)
		}
		if s.spawn == nil {
			resume(ctx)
		} else if !s.spawn("resume", r.ID.String(), resume) {
			s.log.Warn("could not resume a submission now; the next start will", "request_id", r.ID.String())
		}
	}
	return nil
}
