// Permalinks: the fake Slack's chat.getPermalink points at this page, as
// /archives/<channel>/p<ts without its dot>[?thread_ts=<ts>], so a "view it" link scrolls to the
// message on the page and highlights it, as Slack does, instead of opening a workspace on the
// internet that does not exist.
'use strict';

const highlightFor = 3000; // ms a message stays highlighted
let highlight = { ts: '', until: 0 };

// permalinkOf reads a link to this page's messages, or returns null for any other link.
function permalinkOf(href) {
  let url;
  try { url = new URL(href, location.href); } catch { return null; }
  const m = url.pathname.match(/^\/archives\/([A-Z0-9]+)\/p(\d+)(\d{6})$/);
  if (url.origin !== location.origin || !m) return null;
  return { channel: m[1], ts: m[2] + '.' + m[3], thread: url.searchParams.get('thread_ts') || '' };
}

// jumpTo shows the message's channel (and its thread, for a reply), scrolls to it and highlights it.
function jumpTo(link) {
  if (!link || !slack) return;
  const ch = slack.channels.find((c) => c.id === link.channel);
  if (!ch) {
    toast('That message is in a channel ' + nameOf(me) + ' is not in.');
    return;
  }
  current = ch.id;
  openThread = link.thread;
  highlight = { ts: link.ts, until: Date.now() + highlightFor };
  renderSlack();
  const node = document.querySelector(`${link.thread ? '#thread-body' : '#messages'} .msg[data-ts="${CSS.escape(link.ts)}"]`);
  if (node) node.scrollIntoView({ block: 'center' });
  setTimeout(applyHighlight, highlightFor + 50);
}

// applyHighlight marks the highlighted message again after a redraw, and unmarks it once its time is up.
function applyHighlight() {
  const on = highlight.ts && Date.now() < highlight.until;
  document.querySelectorAll('.msg.highlight').forEach((n) => { if (!on || n.dataset.ts !== highlight.ts) n.classList.remove('highlight'); });
  if (on) document.querySelectorAll(`.msg[data-ts="${CSS.escape(highlight.ts)}"]:not(.ephemeral)`).forEach((n) => n.classList.add('highlight'));
}

// jumpToLocation follows the permalink the page was opened at, if it was.
function jumpToLocation() {
  jumpTo(permalinkOf(location.href));
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-permalink]');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return; // a new tab opens the page there
  ev.preventDefault();
  const url = new URL(a.href);
  url.searchParams.set('as', me);
  history.pushState(null, '', url);
  jumpTo(permalinkOf(a.href));
});
window.addEventListener('popstate', jumpToLocation);
