package sandbox

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserFormErrorsLoadingAndSlowAccessOwl submits the form empty, then chooses people while
// AccessOwl is slow, and slower than the form waits.
func TestBrowserFormErrorsLoadingAndSlowAccessOwl(t *testing.T) {
	s := startSandbox(t)
	b := newBrowser(t, s)
	ana := b.open(s.World.Requester, "Ana (requester)")

	ana.command("/revoke")
	ana.waitFor("the request form opens", `!document.querySelector('#modal-backdrop').hidden`)
	ana.click("#modal-submit")
	ana.waitFor("each empty field says it is required", `(() => {
		const errs = [...document.querySelectorAll('#modal .bk-input.has-error .bk-error')];
		return errs.length === 2 && errs.every((e) => e.innerText === 'Please complete this required field.');
	})()`)
	ana.eval("no generic error beside them", `document.querySelector('#modal-error').innerText === ''`)

	setLatency := func(ms string) {
		ana.do("set AccessOwl's latency", chromedp.SetValue(chromedp.CSS("#f-latency"), ms))
		ana.click("#f-apply")
		ana.waitText("#fault-state", ms+" ms latency")
	}
	setLatency("1500")
	chosen := time.Now()
	ana.choose("person", "Emma Schmidt")
	ana.waitText("#modal .bk-context", "Looking up")
	loading := time.Since(chosen)
	ana.choose("access", "Figma")
	t.Logf("with AccessOwl answering in 1.5 s: the form said it was looking up after %s and listed the access after %s",
		loading.Round(time.Millisecond), time.Since(chosen).Round(time.Millisecond))
	ana.waitFor("the required-field errors are gone with the new form", `!document.querySelector('#modal .bk-input.has-error')`)

	// Slower than the form waits (personLookupWait): it says so rather than look busy for ever.
	setLatency("9000")
	chosen = time.Now()
	ana.choose("person", "Grace Lee")
	ana.waitText("#modal .bk-context", "Looking up")
	ana.waitText("#modal .bk-context", "AccessOwl is slow to answer right now")
	t.Logf("with AccessOwl answering in 9 s: the form said AccessOwl is slow after %s", time.Since(chosen).Round(time.Millisecond))
}

// TestBrowserTextFormsAnswerInPlaceAndOfferChoicesAsButtons runs the text forms: each answer
// replaces the "Looking up…" note, and several matching accesses are offered as buttons.
func TestBrowserTextFormsAnswerInPlaceAndOfferChoicesAsButtons(t *testing.T) {
	s := startSandbox(t)
	b := newBrowser(t, s)
	ana := b.open(s.World.Requester, "Ana (requester)")
	noNote := `![...document.querySelectorAll('#messages .msg.ephemeral')].some((e) => e.innerText.includes('Looking up'))`

	// Two notes in a row stack instead of drawing over each other.
	for _, text := range []string{"hello", "hello again"} {
		ana.command(text) // not a command: the page says so and keeps the text to fix
		ana.eval("clear the composer", `(() => { document.querySelector('#composer').value = ''; return true; })()`)
	}
	ana.waitFor("two toasts, one above the other", `(() => {
		const [a, b] = [...document.querySelectorAll('.toast')].map((t) => t.getBoundingClientRect());
		return a && b && (a.bottom <= b.top || b.bottom <= a.top);
	})()`)

	ana.command("/revoke @nobody.here GitHub left")
	ana.waitText("#messages .msg.ephemeral", "as plain text")
	ana.eval("the answer replaced the note", noNote)

	ana.command("/revoke @dev.patel AWS Moved teams")
	choice := `#messages .msg.ephemeral button[data-action-id="revokebot_choose_access"]`
	ana.waitFor("three choices, as buttons", `document.querySelectorAll('`+choice+`').length === 3`)
	ana.eval("the answer replaced the note", noNote)
	ana.shotAs("choices.png")
	ana.click(choice)
	ana.waitText("#messages .msg", "Access revocation request")
	ana.waitText("#messages .msg.ephemeral", "is posted")
	ana.eval("the request's answer replaced the choices", `!document.querySelector('`+choice+`')`)

	ana.command("/revoke @farid.haddad GitHub Left the company")
	ana.waitFor("the README's example makes a request", `[...document.querySelectorAll('#messages .msg.ephemeral')].filter((e) => e.innerText.includes('is posted')).length === 2`)
	ana.eval("the answer replaced the note", noNote)
}
