package sandbox

import (
	"fmt"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
)

// TestBrowserAnOffboardingFromTheCommandToItsFinalReply plays an offboarding on the page: Ana
// asks for all of Dev's access with one command, Ben approves it once, the automatic
// applications finish by themselves, and Ben — AWS's admin — marks each AWS access revoked
// from its ask in the thread, until the thread's final reply says every access is gone.
func TestBrowserAnOffboardingFromTheCommandToItsFinalReply(t *testing.T) {
	began := time.Now()
	s := startSandbox(t)
	b := newBrowser(t, s)
	dev, ok := s.Owl.UserByEmail(owltest.SeedManyGrantsEmail)
	if !ok {
		t.Fatal("the seed has no Dev Patel")
	}
	active := s.Owl.ActiveAccessStates(dev.ID)
	aws, _ := s.Owl.ApplicationByTitle(owltest.SeedAdminApp)
	admin := 0
	for _, st := range active {
		if app, _ := s.Owl.Application(st.ApplicationID); app.ProvisioningType == owltest.ApplicationAdmin {
			admin++
		}
	}
	if admin == 0 || admin == len(active) {
		t.Fatalf("Dev has %d accesses, %d admin-provisioned: the test wants both kinds", len(active), admin)
	}

	ana := b.open(s.World.Requester, "Ana (requester)")
	ana.command("/revoke all @dev.patel Last day today")
	ana.waitText("#messages .msg", "Offboarding: all access of Dev Patel")
	ana.waitText("#messages .msg", aws.Title)

	ben := b.open(s.World.SlackID[approverEmail], "Ben (approver, AWS's admin)")
	ben.inMessageOf("Dev Patel", `button[data-action-id="revokebot_approve"]`)
	ben.waitText("#confirm-title", fmt.Sprintf("Revoke all %d accesses of Dev Patel?", len(active)))
	ben.waitText("#confirm-text", fmt.Sprintf("revoke all %d accesses of Dev Patel listed in the request", len(active)))
	ben.shotAs("offboarding-confirm.png")
	ben.click("#confirm-ok")
	ben.openThreadOf("Dev Patel")
	ben.waitText("#thread-body", "Progress:")
	ben.shotAs("offboarding-approved.png")

	// Each admin-provisioned access asks its admin; Ben marks them one after the other.
	count := `document.querySelectorAll(` + quote(markRevoked) + `).length`
	ben.waitFor(fmt.Sprintf("%d asks with buttons", admin), fmt.Sprintf("%s === %d", count, admin))
	for left := admin - 1; left >= 0; left-- {
		ben.click(markRevoked)
		ben.waitFor(fmt.Sprintf("%d asks left", left), fmt.Sprintf("%s === %d", count, left))
	}
	ben.waitText("#thread-body", fmt.Sprintf("Done: all %d accesses of Dev Patel are revoked", len(active)))
	ben.waitText("#thread-body", fmt.Sprintf("%d of %d revoked", len(active), len(active)))
	ben.shotAs("offboarding-done.png")

	for _, st := range active {
		if got := revocationsOf(s.Owl, st.ID); len(got) != 1 || got[0].Status != owltest.Revoked {
			t.Errorf("revocations of access state %s = %+v, want exactly one, revoked", st.ID, got)
		}
	}
	t.Logf("an offboarding of %d accesses (%d asked of an admin) from the command to its final reply in %s",
		len(active), admin, time.Since(began).Round(time.Millisecond))
}
