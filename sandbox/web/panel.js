// The admin panel's dialogs and the Slack connection as the page shows it: rejecting a
// revocation with a reason, copying an access state's ID, and cutting the bot's socket.
'use strict';

let rejecting = null; // the revocation the reject dialog is about

function openReject(r) {
  if (!r) return;
  rejecting = r;
  $('#reject-text').textContent = `${r.person} keeps their access to ${r.application}${r.resource ? ' · ' + r.resource : ''}.`;
  $('#reject-note').textContent = r.admin
    ? `AccessOwl's API does not give revokebot the reason, so ${nameOf(r.admin)}, an admin of ${r.application}, also says it in the request's thread.`
    : "AccessOwl's API does not give revokebot the reason: it stays in AccessOwl.";
  $('#reject-reason').value = '';
  $('#reject-error').textContent = '';
  $('#reject-backdrop').hidden = false;
  $('#reject-reason').focus();
}

function closeReject() {
  rejecting = null;
  $('#reject-backdrop').hidden = true;
}

async function submitReject(ev) {
  ev.preventDefault();
  const reason = $('#reject-reason').value.trim();
  if (!reason) {
    $('#reject-error').textContent = 'Say why the access stays: the people who asked will read it.';
    return;
  }
  const btn = $('#reject-ok');
  btn.disabled = true;
  try {
    await post('/sandbox/owl/reject', { id: rejecting.id, reason });
    closeReject();
  } catch (e) {
    $('#reject-error').textContent = e.message;
  } finally {
    btn.disabled = false;
  }
}

// copyText puts text on the clipboard; on a page the browser does not trust with it, it selects
// the text for Ctrl-C instead.
async function copyText(text, node) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(node);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    return false;
  }
}

function wireCopies(container) {
  container.querySelectorAll('[data-copy]').forEach((b) => b.addEventListener('click', async (ev) => {
    ev.stopPropagation();
    const id = b.dataset.copy;
    const copied = await copyText(id, b.previousElementSibling);
    b.textContent = copied ? 'Copied' : 'Selected';
    setTimeout(() => { b.textContent = 'Copy'; }, 1500);
    const box = $('#composer');
    if (!box.value.trim()) box.value = `/revoke ${id} `;
    toast(copied ? 'ID copied, and put after /revoke in the composer: add a reason.' : 'ID selected: press Ctrl-C.');
  }));
}

// The bot reconnects within milliseconds of a cut, far faster than the eye: the page keeps the
// indicator on "disconnected" for a moment and says in the panel how long the bot really took.
const cutShownFor = 1500; // ms
let socketCut = { until: 0, back: false };

function renderBotState() {
  const bs = $('#bot-state');
  const held = Date.now() < socketCut.until;
  const on = slack.bot_connected && !held;
  bs.className = 'bot-state ' + (on ? 'on' : 'off');
  let label = slack.bot_connected ? 'revokebot is connected' : 'revokebot is reconnecting…';
  if (held) label = 'Slack socket cut: revokebot is reconnecting…';
  bs.querySelector('.label').textContent = label;
}

function socketLine(text, cls) {
  const line = document.createElement('div');
  line.className = 'socket-line ' + (cls || '');
  line.textContent = new Date().toLocaleTimeString([], { hour12: false }) + ' ' + text;
  $('#socket-log').prepend(line);
  while ($('#socket-log').children.length > 6) $('#socket-log').lastElementChild.remove();
}

async function cutSocket() {
  socketCut = { until: Date.now() + cutShownFor };
  renderBotState();
  socketLine("Cut the bot's Slack socket.", 'bad');
  setTimeout(() => { if (slack) renderBotState(); }, cutShownFor + 20);
  try {
    const res = await post('/sandbox/slack/cut', {});
    socketLine(`revokebot reconnected after ${res.reconnected_ms} ms (${res.cut} ${res.cut === 1 ? 'connection' : 'connections'} cut).`, 'good');
  } catch (e) {
    socketLine(e.message, 'bad');
  }
}

$('#cut-socket').addEventListener('click', cutSocket);
$('#reject-form').addEventListener('submit', submitReject);
$('#reject-cancel').addEventListener('click', closeReject);
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && !$('#reject-backdrop').hidden) closeReject(); });
