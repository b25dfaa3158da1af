package sandbox

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// TestBrowserIDPermalinkRejectionAndSocketCut asks by an access state ID copied from the admin
// panel, follows the answer's link to the message, rejects the revocation in the panel with a
// reason that reaches the thread, and cuts the bot's Slack socket.
func TestBrowserIDPermalinkRejectionAndSocketCut(t *testing.T) {
	s := startSandbox(t)
	b := newBrowser(t, s)
	state := activeState(t, s.Owl, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)

	ana := b.open(s.World.Requester, "Ana (requester)")
	ana.click(".owl details summary")
	copyID := `#access button[data-copy="` + state.ID + `"]`
	ana.waitFor("the panel shows the access state's ID", `document.querySelector('#access').innerText.includes(`+quote(state.ID)+`)`)
	ana.click(copyID)
	ana.waitFor("Copy puts the ID after /revoke in the composer", `document.querySelector('#composer').value === `+quote("/revoke "+state.ID+" "))
	ana.do("give a reason", chromedp.SendKeys(chromedp.CSS("#composer"), "Moved to the data team"))
	ana.click(".composer .send")
	ana.waitText("#messages .msg", "Access revocation request")
	m, err := s.Slack.WaitMessage(waitCtx(t), s.World.Channel, func(m fakeslack.Message) bool { return strings.Contains(m.Text, "Access revocation request") })
	if err != nil {
		t.Fatal(err)
	}

	// The answer's "view it" is a link to the page, which scrolls to the message and highlights it.
	link := `#messages .msg.ephemeral a[data-permalink]`
	ana.waitFor("the answer links to the message", `!!document.querySelector('`+link+`')`)
	ana.eval("the link points at the page", `document.querySelector('`+link+`').href.startsWith(`+quote(s.URL+"archives/")+`)`)
	ana.click(link)
	ana.waitFor("the message is highlighted", `!!document.querySelector('#messages .msg.highlight[data-ts=`+quote(m.TS)+`]')`)
	ana.eval("the page stayed in this tab, at the permalink", `location.pathname.startsWith('/archives/')`)
	// Opened afresh, as from another tab, the permalink leads to the message too.
	ana.do("reload at the permalink", chromedp.Reload())
	ana.waitFor("the message is highlighted after a reload", `!!document.querySelector('#messages .msg.highlight[data-ts=`+quote(m.TS)+`]')`)

	ben := b.open(s.World.SlackID[approverEmail], "Ben (approver)")
	ben.click(approve)
	ben.click("#confirm-ok")
	ben.click("#messages .thread-link")
	ben.waitText("#thread-body", "Waiting for an admin of AWS to remove the access")

	// Reject in the panel: an in-page dialog, which asks for the reason before it rejects.
	ben.click("#revocations [data-reject]")
	ben.waitFor("the reject dialog opens", `!document.querySelector('#reject-backdrop').hidden`)
	ben.click("#reject-ok")
	ben.waitText("#reject-error", "Say why")
	const reason = "Still needed for the migration"
	ben.do("give the reason", chromedp.SendKeys(chromedp.CSS("#reject-reason"), reason))
	rejected := time.Now()
	ben.click("#reject-ok")
	ben.waitFor("the dialog closes", `document.querySelector('#reject-backdrop').hidden`)
	ben.waitText("#thread-body", reason)
	if _, err := s.Slack.WaitReply(waitCtx(t), s.World.Channel, m.TS, func(r fakeslack.Message) bool { return strings.Contains(r.Text, "*rejected*") }); err != nil {
		t.Fatalf("no rejected reply: %v", err)
	}
	t.Logf("the bot's reply came %s after the rejection in the panel", time.Since(rejected).Round(time.Millisecond))
	ben.waitText("#thread-body", "AccessOwl rejected the revocation")
	ben.waitFor("the status line's mark is ✕, not ✓", `(() => {
		const p = document.querySelector('#messages .msg[data-ts=`+quote(m.TS)+`]');
		return p && p.innerText.includes('AccessOwl rejected') && p.querySelector('.emoji.no') && !p.querySelector('.emoji.ok');
	})()`)
	ben.eval("nobody reads AccessOwl's status code in Slack", `!document.querySelector('.channel').innerText.includes('processing_access') && !document.querySelector('#thread').innerText.includes('processing_access')`)

	// Cutting the socket shows on the page: the indicator, then the reconnection in the panel.
	ben.click("#cut-socket")
	ben.waitFor("the indicator shows the bot disconnected", `!!document.querySelector('#bot-state.off')`)
	ben.waitText("#socket-log", "reconnected after")
	ben.waitFor("the indicator shows the bot connected again", `!!document.querySelector('#bot-state.on')`)
	t.Logf("socket log: %s", strings.ReplaceAll(ben.textOf("#socket-log"), "\n", " | "))
	ben.shotAs("panel-1680.png")

	// At 900 px wide nothing is cut off: the panes give up width.
	ben.do("narrow the window", chromedp.EmulateViewport(900, 900))
	fits := func(pane string) string {
		return `(() => {
			const owl = document.querySelector('#owl').getBoundingClientRect();
			const pane = document.querySelector('` + pane + `').getBoundingClientRect();
			return owl.right <= window.innerWidth + 1 && pane.width > 300;
		})()`
	}
	ben.eval("the admin panel and the open thread fit in the window", fits("#thread"))
	ben.shotAs("panel-900-thread.png")
	ben.click("#thread-close")
	ben.eval("the admin panel and the channel fit in the window", fits(".channel"))
	ben.shotAs("panel-900.png")
}

// shotAs saves a screenshot of the tab as name, in REVOKEBOT_SCREENSHOT_DIR when set.
func (p *tab) shotAs(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(cmp.Or(os.Getenv(screenshotDirEnv), p.t.TempDir()), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("saved %s", path)
}

// textOf is the text of the first element matching sel.
func (p *tab) textOf(sel string) string {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+quote(sel)+`)?.innerText || ''`))
	if err != nil {
		return ""
	}
	return s
}
