package sandbox

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/testenv"
)

const (
	chromiumPath = "/usr/bin/chromium"
	// stepTimeout bounds one step in the browser; a revocation's whole flow takes seconds.
	stepTimeout = 30 * time.Second
	// screenshotPath is the README's picture of the page, relative to this package.
	screenshotPath = "../docs/sandbox.png"
)

// browser is one headless Chromium; each person the test plays gets a tab of it.
type browser struct {
	t   *testing.T
	ctx context.Context
	url string
}

func newBrowser(t *testing.T, s *Sandbox) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Missing(t, "Chromium ("+chromiumPath+")", "install it with: apt-get update && apt-get install -y chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1680, 940),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancel)
	began := time.Now()
	// The browser lives as long as the context of its first Run: no timeout on this one.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	t.Logf("Chromium started in %s", time.Since(began).Round(time.Millisecond))
	return &browser{t: t, ctx: ctx, url: s.URL}
}

// tab is the page as one person sees it.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string
}

// open opens the page in a new tab as the Slack user userID.
func (b *browser) open(userID, name string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	p := &tab{t: b.t, ctx: ctx, name: name}
	if err := chromedp.Do(ctx, chromedp.Navigate(b.url+"?as="+userID)); err != nil {
		b.t.Fatalf("open the page as %s: %v", name, err)
	}
	p.waitFor("the page shows the channel and the bot connected",
		`document.querySelector('#bot-state.on') && document.querySelector('#as').value === `+quote(userID))
	return p
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// do runs steps in the tab, failing the test with what the page shows when one fails.
func (p *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v\nthe page shows:\n%s", p.name, what, err, p.text())
	}
}

// waitFor waits until a JavaScript expression is truthy in the page.
func (p *tab) waitFor(what, js string) {
	p.t.Helper()
	p.do(what, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(stepTimeout), chromedp.WithPollingInterval(50*time.Millisecond)))
}

// waitText waits until an element matching sel contains text.
func (p *tab) waitText(sel, text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%s shows %q", sel, text),
		fmt.Sprintf(`[...document.querySelectorAll(%s)].some((e) => e.innerText.includes(%s))`, quote(sel), quote(text)))
}

// eval runs JavaScript that must return true.
func (p *tab) eval(what, js string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil || !ok {
		p.t.Fatalf("%s: %s: %v (got %v)\nthe page shows:\n%s", p.name, what, err, ok, p.text())
	}
}

func (p *tab) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return "(cannot read the page: " + err.Error() + ")"
	}
	return s
}

// click clicks the first element matching sel as soon as there is one. It finds and clicks in
// one step, because the page redraws what changed and a node found a moment ago may be gone.
func (p *tab) click(sel string) {
	p.t.Helper()
	p.waitFor("click "+sel, fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		if (!e || e.disabled || e.closest('[hidden]')) return false;
		e.click();
		return true;
	})()`, quote(sel)))
}

// command types a slash command into the composer and sends it.
func (p *tab) command(text string) {
	p.t.Helper()
	p.do("type "+text, chromedp.SendKeys(chromedp.CSS("#composer"), text))
	p.click(".composer .send")
}

// choose picks the option of a modal select whose text contains label.
func (p *tab) choose(actionID, label string) {
	p.t.Helper()
	sel := fmt.Sprintf(`#modal select[data-action-id=%s]`, quote(actionID))
	p.waitFor("the modal offers "+label, fmt.Sprintf(
		`[...(document.querySelector(%s)?.options || [])].some((o) => o.textContent.includes(%s))`, quote(sel), quote(label)))
	p.eval("choose "+label, fmt.Sprintf(`(() => {
		const s = document.querySelector(%s);
		const o = [...s.options].find((o) => o.textContent.includes(%s));
		s.value = o.value;
		s.dispatchEvent(new Event('change'));
		return true;
	})()`, quote(sel), quote(label)))
}

// approve is the selector of the Approve button of the approval message in the channel.
const approve = `#messages .msg button[data-action-id="revokebot_approve"]`

func TestBrowserRequestApproveTwiceAndWatchTheThread(t *testing.T) {
	began := time.Now()
	s := startSandbox(t)
	b := newBrowser(t, s)
	farid := owltest.SeedOffboardedEmail
	state := activeState(t, s.Owl, farid, owltest.SeedAutomaticApp)
	ben, chloe := s.World.SlackID[approverEmail], s.World.SlackID[approver2Email]

	ana := b.open(s.World.Requester, "Ana (requester)")
	ana.command("/revoke")
	ana.waitFor("the request form opens", `!document.querySelector('#modal-backdrop').hidden`)
	ana.choose("person", "Farid Haddad")
	ana.choose("access", "GitHub")
	ana.do("give a reason", chromedp.SendKeys(chromedp.CSS(`#modal textarea[data-action-id="reason"]`), "Left the company on Friday"))
	ana.click("#modal-submit")
	ana.waitFor("the form closes", `document.querySelector('#modal-backdrop').hidden`)
	ana.waitText("#messages .msg", "Access revocation request")

	// Chloé clicks Approve and is asked to confirm; before she does, Ben approves. Her dialog
	// still holds the message as she saw it, buttons and all, as a Slack client's does.
	cl := b.open(chloe, "Chloé (approver)")
	cl.click(approve)
	cl.waitFor("the confirm dialog opens", `!document.querySelector('#confirm-backdrop').hidden`)
	cl.waitText("#confirm-text", "Farid Haddad")

	bn := b.open(ben, "Ben (approver)")
	bn.click(approve)
	bn.click("#confirm-ok")
	bn.waitText("#messages .msg", "Approved by @Ben Okafor")
	cl.waitFor("Chloé's page shows the buttons gone", `!document.querySelector('#messages button[data-action-id="revokebot_approve"]')`)
	// Ben's submission is through once the thread says so; Chloé's click then meets its key.
	cl.waitText("#messages .thread-link", "reply")

	cl.click("#confirm-ok")
	cl.waitText("#messages .msg.ephemeral", "already submitted")

	cl.click("#messages .thread-link")
	cl.waitText("#thread-body", "Revocation submitted to AccessOwl")
	cl.waitText("#thread-body", "revoked")
	cl.waitText("#revocations .card", "revoked")
	shot(t, cl)

	if got := revocationsOf(s.Owl, state.ID); len(got) != 1 || got[0].Status != owltest.Revoked {
		t.Errorf("revocations of Farid's GitHub access = %+v, want exactly one, revoked", got)
	}
	t.Logf("request, two approvals, already submitted and revoked in %s", time.Since(began).Round(time.Millisecond))
}

// updateScreenshotEnv, set to 1, makes the browser test refresh the README's screenshot; without
// it the picture goes to the test's temporary directory, so running the tests leaves the
// committed one untouched.
const updateScreenshotEnv = "REVOKEBOT_UPDATE_SCREENSHOT"

// screenshotDirEnv names a folder that keeps the tests' other screenshots, to look at them.
const screenshotDirEnv = "REVOKEBOT_SCREENSHOT_DIR"

// shot takes the README's screenshot of the page.
func shot(t *testing.T, p *tab) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(cmp.Or(os.Getenv(screenshotDirEnv), t.TempDir()), "sandbox.png")
	if os.Getenv(updateScreenshotEnv) == "1" {
		path = screenshotPath
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s (%d bytes)", path, len(png))
}

func TestBrowserRefusesOutsidersAndRevokesOnceThrough5xx(t *testing.T) {
	began := time.Now()
	s := startSandbox(t)
	b := newBrowser(t, s)
	state := activeState(t, s.Owl, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)

	ana := b.open(s.World.Requester, "Ana (requester)")
	ana.command("/revoke " + state.ID + " Moved to the data team")
	ana.waitText("#messages .msg", "Access revocation request")

	kim := b.open(s.World.SlackID[owltest.SeedNoLastNameEmail], "Kim (not an approver)")
	kim.click(approve)
	kim.click("#confirm-ok")
	kim.waitText("#messages .msg.ephemeral", "not allowed")
	if n := len(revocationsOf(s.Owl, state.ID)); n != 0 {
		t.Fatalf("an outsider's click filed %d revocations", n)
	}

	ben := b.open(s.World.SlackID[approverEmail], "Ben (approver)")
	ben.do("make AccessOwl fail half its requests", chromedp.SetValue(chromedp.CSS("#f-errors"), "50"))
	ben.click("#f-apply")
	ben.waitText("#fault-state", "50% 5xx")
	ben.click(approve)
	ben.click("#confirm-ok")
	ben.waitText("#messages .msg", "Approved by @Ben Okafor")
	ben.waitText("#revocations .card", "in progress")
	ben.click("#revocations [data-revoke]")
	ben.click("#messages .thread-link")
	ben.waitText("#thread-body", "revoked")

	got := revocationsOf(s.Owl, state.ID)
	if len(got) != 1 || got[0].Status != owltest.Revoked {
		t.Errorf("revocations of Dev's AWS access = %+v, want exactly one, revoked", got)
	}
	if st := s.Owl.Stats(); st.ServerErrors == 0 {
		t.Errorf("AccessOwl answered no 5xx (%+v): the fault control did not take", st)
	} else {
		t.Logf("AccessOwl answered %d of %d requests with 5xx", st.ServerErrors, st.Requests)
	}
	if strings.Contains(kim.text(), "already submitted") {
		t.Error("the outsider was told the request was submitted")
	}
	t.Logf("refusal, 5xx and one revocation in %s", time.Since(began).Round(time.Millisecond))
}
