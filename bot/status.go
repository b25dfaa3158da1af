package bot

import (
	"fmt"

	"revokebot/apiclient"
	"revokebot/revoke"
	"revokebot/store"
)

// What people read about a revocation is in words; AccessOwl's status codes (processing_access,
// revoked, rejected) stay where a machine reads them: the replies' metadata and the logs.

// StatusLine says in one sentence where a request stands, after a mark that matches the
// outcome: ✓ only when the access is gone, ✗ when it stays.
func StatusLine(r store.Request) string {
	switch r.State {
	case store.Pending:
		return "Waiting for an approver."
	case store.Rejected:
		return fmt.Sprintf(":x: Rejected by %s. The access stays.", Mention(r.DecidedBy))
	case store.Expired:
		return ":hourglass: Expired: no approver decided in time. The access stays."
	}
	approved := fmt.Sprintf("Approved by %s.", Mention(r.DecidedBy))
	if len(r.Items) != 1 {
		return statusMark(countItems(r.Items), len(r.Items)) + " " + approved + " " + progress(r.Items)
	}
	it := r.Items[0]
	switch {
	case it.LastError != "" && !it.Settled():
		// What the attempt met is in the logs; people need to know what happens next.
		return fmt.Sprintf(":warning: %s AccessOwl did not answer yet; revokebot keeps retrying with the same key, so it will not revoke twice.", approved)
	case it.Refusal != "":
		// Not ✕: AccessOwl may refuse because the access has already ended.
		return fmt.Sprintf(":warning: %s AccessOwl refused the revocation, so revokebot sent nothing more: %s", approved, Escape(it.Refusal))
	case it.Status == "":
		return ":hourglass_flowing_sand: " + approved + " Submitting to AccessOwl…"
	case it.Status == apiclient.RevocationRevoked:
		return ":white_check_mark: " + approved + " The access is *revoked*: it is gone."
	case it.Status == apiclient.RevocationRejected:
		return ":x: " + approved + " AccessOwl *rejected* the revocation: the access stays."
	default:
		return ":hourglass_flowing_sand: " + approved + " " + inProgress(it, it.Status) + "."
	}
}

// statusMark is the mark of a request with several accesses: ✓ when all are revoked, ✗ when
// none is left in flight and some stay, ⏳ while any is in flight.
func statusMark(c counts, total int) string {
	switch {
	case c.revoked == total:
		return ":white_check_mark:"
	case c.unanswered > 0:
		return ":warning:"
	case c.processing+c.admin+c.waiting > 0:
		return ":hourglass_flowing_sand:"
	default:
		return ":x:"
	}
}

// inProgress says who is removing an access AccessOwl has not finished with: AccessOwl itself,
// or an admin of the application who does it by hand and then marks it done.
func inProgress(it store.Item, status store.Status) string {
	if status != apiclient.RevocationProcessing {
		// A status this version does not know: say it as AccessOwl does.
		return fmt.Sprintf("AccessOwl says the revocation is `%s`", Escape(string(status)))
	}
	if it.ProvisioningType == string(apiclient.ProvisioningApplicationAdmin) {
		app := Escape(it.ApplicationTitle)
		if app == "" {
			app = "the application"
		}
		return "Waiting for an admin of " + app + " to remove the access"
	}
	return "AccessOwl is removing the access"
}

// statusReply is the thread reply announcing a revocation's new status.
func statusReply(r store.Request, e revoke.Event) string {
	switch {
	case e.Status == apiclient.RevocationProcessing:
		return fmt.Sprintf("Revocation submitted to AccessOwl (`%s`)%s. %s.",
			Escape(e.RevocationID), itemSuffix(r, e.Item), inProgress(e.Item, e.Status))
	case e.Status == apiclient.RevocationRevoked:
		return fmt.Sprintf("%s The access is *revoked*: %s's access to %s is gone.%s", Mention(r.RequesterID), Escape(r.Grantee.Name), itemText(e.Item), markedText(e))
	case e.Status == apiclient.RevocationRejected && e.MarkedBy != "":
		return fmt.Sprintf("%s The revocation was *rejected*: %s keeps access to %s.%s",
			Mention(r.RequesterID), Escape(r.Grantee.Name), itemText(e.Item), markedText(e))
	case e.Status == apiclient.RevocationRejected:
		return fmt.Sprintf("%s AccessOwl *rejected* the revocation: %s keeps access to %s. AccessOwl does not tell revokebot why: see revocation `%s` in AccessOwl.",
			Mention(r.RequesterID), Escape(r.Grantee.Name), itemText(e.Item), Escape(e.RevocationID))
	default:
		return fmt.Sprintf("AccessOwl says the revocation%s is `%s`.", itemSuffix(r, e.Item), Escape(string(e.Status)))
	}
}

// RevocationStatus says where one revocation stands, for `/revoke status`: in words, after its
// application's title (empty when not known) and how AccessOwl removes it.
func RevocationStatus(status store.Status, provisioningType, application string) string {
	switch status {
	case apiclient.RevocationRevoked:
		return "The access is *revoked*: it is gone."
	case apiclient.RevocationRejected:
		return "AccessOwl *rejected* the revocation: the access stays."
	}
	return inProgress(store.Item{ProvisioningType: provisioningType, ApplicationTitle: application}, status) + "."
}
