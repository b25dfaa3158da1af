package sandbox

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"revokebot/apiclient/owltest"
)

// The ask's buttons in the open thread.
const (
	markRevoked    = `#thread-body button[data-action-id="revokebot_mark_revoked"]`
	couldNotRevoke = `#thread-body button[data-action-id="revokebot_could_not_revoke"]`
)

// inMessageOf clicks the element matching sel in the approval message that names grantee.
func (p *tab) inMessageOf(grantee, sel string) {
	p.t.Helper()
	p.waitFor("click "+sel+" of "+grantee+"'s request", fmt.Sprintf(`(() => {
		const m = [...document.querySelectorAll('#messages .msg')].find((m) => m.innerText.includes(%s) && m.querySelector(%s));
		if (!m) return false;
		m.querySelector(%s).click();
		return true;
	})()`, quote(grantee), quote(sel), quote(sel)))
}

// openThreadOf opens the thread of the approval message that names grantee.
func (p *tab) openThreadOf(grantee string) {
	p.t.Helper()
	p.inMessageOf(grantee, ".thread-link")
}

// TestBrowserAnAdminFinishesRevocationsFromTheThread plays the sandbox: Figma is
// admin-provisioned and its admin, Emma, is no approver. Approved revocations ask her in the
// thread; switching to her on the page she marks one revoked and says another could not be,
// and the thread and AccessOwl's admin panel agree.
func TestBrowserAnAdminFinishesRevocationsFromTheThread(t *testing.T) {
	began := time.Now()
	s := startSandbox(t)
	b := newBrowser(t, s)
	farid := activeState(t, s.Owl, owltest.SeedOffboardedEmail, "Figma")
	chloe := activeState(t, s.Owl, approver2Email, "Figma")

	ana := b.open(s.World.Requester, "Ana (requester)")
	ana.command("/revoke " + farid.ID + " Left the company")
	ana.waitText("#messages .msg", "Farid Haddad")
	ana.command("/revoke " + chloe.ID + " Moved to product, no more design work")
	ana.waitText("#messages .msg", "Chloé Martin")

	ben := b.open(s.World.SlackID[approverEmail], "Ben (approver)")
	for _, grantee := range []string{"Farid Haddad", "Chloé Martin"} {
		ben.inMessageOf(grantee, `button[data-action-id="revokebot_approve"]`)
		ben.click("#confirm-ok")
		ben.waitFor(grantee+"'s request is approved", fmt.Sprintf(
			`[...document.querySelectorAll('#messages .msg')].some((m) => m.innerText.includes(%s) && m.innerText.includes('Approved by'))`, quote(grantee)))
	}

	// Kim is neither asked nor an approver: the thread refuses her.
	kim := b.open(s.World.SlackID[owltest.SeedNoLastNameEmail], "Kim (not asked)")
	kim.openThreadOf("Farid Haddad")
	kim.click(markRevoked)
	kim.waitText(".msg.ephemeral", "not allowed")

	emma := b.open(s.World.SlackID["emma.schmidt@"+owltest.SeedDomain], "Emma (Figma's admin)")
	emma.openThreadOf("Farid Haddad")
	emma.waitText("#thread-body", "@Emma Schmidt AccessOwl does not remove")
	emma.click(markRevoked)
	emma.waitText("#thread-body", "is gone")
	emma.waitFor("the ask's buttons are gone", `!document.querySelector(`+quote(markRevoked)+`)`)
	emma.waitText("#revocations .card", "revoked")

	emma.openThreadOf("Chloé Martin")
	emma.click(couldNotRevoke)
	emma.waitFor("the Could not revoke form opens", `!document.querySelector('#modal-backdrop').hidden`)
	const reason = "Chloé owns the design system until March"
	emma.do("give the reason", chromedp.SendKeys(chromedp.CSS(`#modal textarea[data-action-id="reason"]`), reason))
	emma.click("#modal-submit")
	emma.waitFor("the form closes", `document.querySelector('#modal-backdrop').hidden`)
	emma.waitText("#thread-body", reason)
	emma.waitText("#thread-body", "rejected")
	emma.waitText("#revocations .card", reason)

	for _, st := range []struct {
		state string
		want  string
	}{{farid.ID, owltest.Revoked}, {chloe.ID, owltest.Rejected}} {
		if got := revocationsOf(s.Owl, st.state); len(got) != 1 || got[0].Status != st.want {
			t.Errorf("revocations of %s = %+v, want exactly one, %s", st.state, got, st.want)
		}
	}
	t.Logf("two asks, a refusal, a mark and a could-not in %s", time.Since(began).Round(time.Millisecond))
}
