// The revokebot sandbox page: a Slack channel as one person sees it, beside AccessOwl's admin
// panel. It holds no state of its own beyond what is on screen: every change arrives as a
// Server-Sent Event, after which the page reloads what it shows from /sandbox/slack and
// /sandbox/owl, and every action is a POST to one of the sandbox's JSON endpoints.
'use strict';

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
let me = params.get('as') || '';
let slack = null; // the last /sandbox/slack answer
let owl = null;
let current = ''; // the channel shown
let openThread = ''; // ts of the thread shown, '' for none
let modalKey = ''; // what the rendered modal showed, to redraw it only when it changes
const drafts = {}; // text typed into modal inputs, by view and action, kept across redraws
let pendingConfirm = null;

// ---- talking to the sandbox ----

async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const out = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(out.error || res.statusText);
  return out;
}

function debounce(fn, ms) {
  let timer = null;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    if (running) { again = true; return; }
    running = true;
    try { await fn(); } catch (e) { console.error(e); }
    running = false;
    if (again) { again = false; schedule(); }
  };
  const schedule = () => { if (!timer) timer = setTimeout(run, ms); };
  return schedule;
}

async function loadSlack() {
  const res = await fetch('/sandbox/slack?as=' + encodeURIComponent(me));
  slack = await res.json();
  if (!me) me = slack.me;
  if (!current) current = slack.revocations_channel;
  renderSlack();
}

async function loadOwl() {
  const res = await fetch('/sandbox/owl');
  owl = await res.json();
  renderOwl();
}

const refreshSlack = debounce(loadSlack, 60);
const refreshOwl = debounce(loadOwl, 100);

function listen() {
  const es = new EventSource('/sandbox/events');
  es.addEventListener('slack', refreshSlack);
  es.addEventListener('owl', refreshOwl);
  es.onopen = () => { refreshSlack(); refreshOwl(); };
}

// toast shows a short note; several stack above one another instead of drawing over each other.
function toast(text) {
  const t = document.createElement('div');
  t.className = 'toast';
  t.textContent = text;
  $('#toasts').append(t);
  setTimeout(() => t.remove(), 4000);
}

// ---- text ----

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// unent undoes Slack's three escapes, so that esc can redo them with the rest.
function unent(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function user(id) {
  return (slack?.users || []).find((u) => u.id === id);
}

function nameOf(id) {
  const u = user(id);
  return u ? (u.real_name || u.name) : id;
}

const emoji = {
  white_check_mark: '<span class="emoji ok">&#10003;</span>',
  heavy_check_mark: '<span class="emoji ok">&#10003;</span>',
  x: '<span class="emoji no">&#10005;</span>',
  warning: '<span class="emoji wait">!</span>',
  hourglass: '<span class="emoji wait">&#9719;</span>',
  hourglass_flowing_sand: '<span class="emoji wait">&#9719;</span>',
};

function token(inner) {
  const [target, label] = inner.split('|');
  if (target.startsWith('@')) return `<span class="mention">@${esc(nameOf(target.slice(1)) || label)}</span>`;
  if (target.startsWith('#')) return `<span class="mention">#${esc(label || channelName(target.slice(1)))}</span>`;
  if (target.startsWith('!subteam^')) {
    const g = (slack?.groups || []).find((x) => x.id === target.slice(9));
    return `<span class="mention">@${esc(g ? g.handle : label || target)}</span>`;
  }
  if (target.startsWith('!')) return `<span class="mention">@${esc(target.slice(1))}</span>`;
  if (permalinkOf(unent(target))) return `<a href="${esc(unent(target))}" data-permalink>${esc(unent(label || target))}</a>`;
  if (/^(https?|mailto):/.test(target)) return `<a href="${esc(unent(target))}" target="_blank" rel="noopener">${esc(unent(label || target))}</a>`;
  return esc(unent('<' + inner + '>'));
}

function inline(text) {
  const tokens = [];
  let h = text.replace(/<([^<>]+)>/g, (_, inner) => { tokens.push(token(inner)); return '\u0000' + (tokens.length - 1) + '\u0000'; });
  h = esc(unent(h));
  const around = (mark, tag) => {
    const m = mark.replace(/[*~]/g, '\\$&');
    const re = new RegExp(`(^|[\\s(\\u0000>])${m}([^${m}\\n]+?)${m}(?=$|[\\s.,;:!?)\\u0000<—-])`, 'g');
    h = h.replace(re, `$1<${tag}>$2</${tag}>`);
  };
  around('*', 'b');
  around('_', 'i');
  around('~', 's');
  h = h.replace(/:([a-z0-9_+-]+):/g, (all, name) => emoji[name] || all);
  h = h.replace(/\u0000(\d+)\u0000/g, (_, i) => tokens[Number(i)]);
  return h.replace(/\n/g, '<br>');
}

// mrkdwn renders Slack's mrkdwn: code first, since nothing inside code is formatted.
function mrkdwn(text) {
  return String(text ?? '').split(/(```[\s\S]*?```|`[^`\n]+`)/).map((part) => {
    if (part.length >= 6 && part.startsWith('```') && part.endsWith('```')) return '<pre>' + esc(unent(part.slice(3, -3))) + '</pre>';
    if (part.length >= 2 && part.startsWith('`') && part.endsWith('`')) return '<code>' + esc(unent(part.slice(1, -1))) + '</code>';
    return inline(part);
  }).join('');
}

function textObject(t) {
  if (!t) return '';
  return t.type === 'mrkdwn' ? mrkdwn(t.text) : esc(t.text).replace(/\n/g, '<br>');
}

function channelName(id) {
  const c = (slack?.channels || []).find((x) => x.id === id);
  return c ? c.name : id;
}

const palette = ['#e8912d', '#2bac76', '#1264a3', '#9e3c9e', '#e01e5a', '#36c5f0', '#4a154b', '#0b6b44'];

function avatar(id, bot) {
  if (bot) return '<div class="avatar" style="background:#1c2541;color:#f2b134">rb</div>';
  const n = nameOf(id);
  const initials = n.split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase();
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `<div class="avatar" style="background:${palette[h % palette.length]}">${esc(initials)}</div>`;
}

function clock(ts) {
  const d = new Date(parseFloat(ts) * 1000);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

// ---- Block Kit ----

function element(el, ctx) {
  switch (el.type) {
    case 'button': {
      const style = el.style ? ' ' + el.style : '';
      const i = ctx.elements.push(el) - 1;
      return `<button class="btn${style}" data-action-id="${esc(el.action_id)}" data-el="${i}">${esc(el.text?.text)}</button>`;
    }
    case 'image':
      return `<img class="bk-image" src="${esc(el.image_url)}" alt="${esc(el.alt_text)}">`;
    case 'mrkdwn':
    case 'plain_text':
      return `<span>${textObject(el)}</span>`;
    default:
      return `<span class="muted small">[${esc(el.type)}]</span>`;
  }
}

function blocks(list, ctx) {
  return (list || []).map((b) => {
    switch (b.type) {
      case 'header':
        return `<div class="bk-header">${esc(b.text?.text)}</div>`;
      case 'section': {
        const fields = b.fields ? `<div class="bk-fields">${b.fields.map((f) => `<div>${textObject(f)}</div>`).join('')}</div>` : '';
        const acc = b.accessory ? `<div>${element(b.accessory, ctx)}</div>` : '';
        return `<div class="bk-section"><div class="bk-main">${textObject(b.text)}${fields}</div>${acc}</div>`;
      }
      case 'context':
        return `<div class="bk-context">${(b.elements || []).map((e) => element(e, ctx)).join('')}</div>`;
      case 'divider':
        return '<hr class="bk-divider">';
      case 'actions':
        return `<div class="bk-actions" data-block-id="${esc(b.block_id)}">${(b.elements || []).map((e) => element(e, ctx)).join('')}</div>`;
      case 'image':
        return `<img class="bk-image" src="${esc(b.image_url)}" alt="${esc(b.alt_text)}">`;
      case 'input':
        return input(b, ctx);
      default:
        return `<div class="muted small">[${esc(b.type)} block]</div>`;
    }
  }).join('');
}

// ---- messages ----

function messageHTML(m, opts) {
  const ctx = { elements: [] };
  const bot = !!m.bot_id;
  const body = m.blocks && m.blocks.length ? `<div class="bk">${blocks(m.blocks, ctx)}</div>` : `<div class="msg-text">${mrkdwn(m.text)}</div>`;
  const ephem = opts.ephemeral ? '<div class="only-you"><span class="eye"></span> Only visible to you</div>' : '';
  let replies = '';
  const list = opts.replies || [];
  if (list.length) {
    const who = [...new Set(list.map((r) => r.user))].slice(0, 3).map((u) => avatar(u, u === slack.bot_user_id)).join('');
    replies = `<div class="thread-link" data-thread="${esc(m.ts)}">${who}<span>${list.length} ${list.length === 1 ? 'reply' : 'replies'}</span><span class="muted small">Last reply ${clock(list[list.length - 1].ts)}</span></div>`;
  }
  const html = `<div class="msg${opts.ephemeral ? ' ephemeral' : ''}" data-ts="${esc(m.ts)}">
    ${avatar(m.user, bot)}
    <div class="msg-main">
      ${ephem}
      <div class="msg-head"><span class="msg-name">${esc(bot ? 'revokebot' : nameOf(m.user))}</span>${bot ? '<span class="badge">APP</span>' : ''}<span class="msg-time">${clock(m.ts)}</span></div>
      ${body}${m.edited ? '<span class="edited">(edited)</span>' : ''}
      ${replies}
    </div></div>`;
  return { html, ctx, message: m, ephemeral: opts.ephemeral };
}

// wire gives the rendered buttons of a message their clicks. The message is captured as it was
// rendered, as a Slack client sends the message it shows.
function wire(container, rendered) {
  for (const r of rendered) {
    const node = container.querySelector(`.msg[data-ts="${CSS.escape(r.message.ts)}"]${r.ephemeral ? '.ephemeral' : ':not(.ephemeral)'}`);
    if (!node) continue;
    node.querySelectorAll('button[data-el]').forEach((btn) => {
      const el = r.ctx.elements[Number(btn.dataset.el)];
      btn.addEventListener('click', () => clickButton(btn, el, r));
    });
    node.querySelectorAll('.thread-link').forEach((link) => link.addEventListener('click', () => showThread(link.dataset.thread)));
  }
}

async function clickButton(btn, el, r) {
  const send = async () => {
    btn.disabled = true;
    try {
      const body = { user: me, action_id: el.action_id, message: r.message };
      if (r.ephemeral) body.ephemeral_ts = r.message.ts;
      await post('/sandbox/slack/click', body);
    } catch (e) {
      toast('The click did not reach the app: ' + e.message);
    } finally {
      btn.disabled = false;
    }
  };
  if (el.confirm) {
    openConfirm(el.confirm, send);
  } else {
    send();
  }
}

function openConfirm(c, onOK) {
  pendingConfirm = onOK;
  $('#confirm-title').textContent = c.title?.text || 'Are you sure?';
  $('#confirm-text').innerHTML = textObject(c.text);
  $('#confirm-ok').textContent = c.confirm?.text || 'Yes';
  $('#confirm-deny').textContent = c.deny?.text || 'Cancel';
  $('#confirm-ok').className = 'btn ' + (c.style === 'danger' ? 'danger' : 'primary');
  $('#confirm-backdrop').hidden = false;
}

function closeConfirm() {
  pendingConfirm = null;
  $('#confirm-backdrop').hidden = true;
}

function channelEphemerals(channel, threadTS) {
  return (slack.ephemerals || []).filter((e) => e.channel === channel && (threadTS ? e.thread_ts === threadTS : !e.thread_ts));
}

function byTS(a, b) {
  return parseFloat(a.message.ts) - parseFloat(b.message.ts);
}

function renderSlack() {
  if (!slack) return;
  renderPeople();
  renderNav();
  renderBotState();

  const ch = slack.channels.find((c) => c.id === current) || slack.channels.find((c) => c.id === slack.revocations_channel);
  if (!ch) return;
  current = ch.id;
  $('#channel-title').textContent = ch.is_im ? 'revokebot' : '# ' + ch.name;
  $('#channel-topic').innerHTML = ch.is_im ? 'Direct messages from revokebot: what became of your requests.' : 'Access revocations: ask with <code>/revoke</code>, approvers decide here.';
  // The hint is short enough for a 900 px window, shorter still beside an open thread.
  $('#composer').placeholder = ch.is_im ? 'Message revokebot' : openThread ? 'Try /revoke' : 'Type /revoke or /revoke help';

  const list = $('#messages');
  // Redraw only what changed, so that a button is not replaced under the pointer.
  const key = JSON.stringify([ch.id, ch.messages, ch.replies, channelEphemerals(ch.id, ''), slack.users.length]);
  if (list.dataset.key === key) {
    renderThread(ch);
    renderModal();
    applyHighlight();
    return;
  }
  list.dataset.key = key;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const rendered = (ch.messages || []).map((m) => messageHTML(m, { replies: ch.replies[m.ts] }))
    .concat(channelEphemerals(ch.id, '').map((e) => messageHTML({ ...e, bot_id: 'B', user: slack.bot_user_id }, { ephemeral: true })))
    .sort(byTS);
  list.innerHTML = rendered.length ? rendered.map((r) => r.html).join('') : '<div class="muted" style="padding:20px">Nothing here yet. Type <code>/revoke</code> below to ask for an access to be removed.</div>';
  wire(list, rendered);
  if (atBottom) list.scrollTop = list.scrollHeight;

  renderThread(ch);
  renderModal();
  applyHighlight();
}

function renderPeople() {
  const sel = $('#as');
  const people = slack.users.filter((u) => !u.is_bot && !u.deleted);
  const key = people.map((u) => u.id).join() + me;
  if (sel.dataset.key === key) return;
  sel.dataset.key = key;
  sel.innerHTML = people.map((u) => `<option value="${esc(u.id)}"${u.id === me ? ' selected' : ''}>${esc(u.real_name)}${u.approver ? ' (approver)' : ''}</option>`).join('');
}

function renderNav() {
  const link = (c, label, hash) => `<a data-channel="${esc(c.id)}" class="${c.id === current ? 'active' : ''}"><span class="hash">${hash}</span>${esc(label)}</a>`;
  $('#channels').innerHTML = slack.channels.filter((c) => !c.is_im).map((c) => link(c, c.name, '#')).join('');
  const dm = slack.channels.filter((c) => c.is_im);
  $('#dms').innerHTML = dm.length ? dm.map((c) => link(c, 'revokebot', '&#9679;')).join('') : '<a class="muted"><span class="hash">&#9679;</span>revokebot</a>';
  document.querySelectorAll('nav a[data-channel]').forEach((a) => a.addEventListener('click', () => {
    current = a.dataset.channel;
    openThread = '';
    renderSlack();
  }));
}

function showThread(ts) {
  openThread = ts;
  renderSlack();
}

function renderThread(ch) {
  const pane = $('#thread');
  const parent = (ch.messages || []).find((m) => m.ts === openThread);
  // In a narrow window an open thread takes the channel's place, as in Slack (app.css).
  document.querySelector('.layout').classList.toggle('thread-open', !!(openThread && parent));
  if (!openThread || !parent) {
    pane.hidden = true;
    $('#thread-body').dataset.key = '';
    return;
  }
  pane.hidden = false;
  $('#thread-channel').textContent = ch.is_im ? 'revokebot' : '# ' + ch.name;
  const replies = ch.replies[parent.ts] || [];
  const top = messageHTML(parent, {});
  const rest = replies.map((r) => messageHTML(r, {}))
    .concat(channelEphemerals(ch.id, parent.ts).map((e) => messageHTML({ ...e, bot_id: 'B', user: slack.bot_user_id }, { ephemeral: true })))
    .sort(byTS);
  const body = $('#thread-body');
  const key = JSON.stringify([parent, replies, channelEphemerals(ch.id, parent.ts)]);
  if (body.dataset.key === key) return;
  body.dataset.key = key;
  body.innerHTML = top.html + `<div class="replies-rule">${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}</div>` + rest.map((r) => r.html).join('');
  wire(body, [top, ...rest]);
}

// ---- modals ----

function stateValue(view, blockID, actionID) {
  return view.state_values?.[blockID]?.[actionID];
}

function input(b, ctx) {
  const view = ctx.view;
  const el = b.element || {};
  const id = el.action_id;
  const err = view?.errors?.[b.block_id];
  const val = view ? stateValue(view, b.block_id, id) : null;
  const placeholder = esc(el.placeholder?.text || '');
  let control;
  switch (el.type) {
    case 'plain_text_input': {
      const draft = drafts[view.root_view_id + '/' + id] ?? val?.value ?? el.initial_value ?? '';
      control = el.multiline
        ? `<textarea data-action-id="${esc(id)}" data-kind="text" placeholder="${placeholder}">${esc(draft)}</textarea>`
        : `<input data-action-id="${esc(id)}" data-kind="text" placeholder="${placeholder}" value="${esc(draft)}">`;
      break;
    }
    case 'users_select': {
      const chosen = val?.selected_user || el.initial_user || '';
      const opts = slack.users.filter((u) => !u.is_bot && !u.deleted)
        .map((u) => `<option value="${esc(u.id)}"${u.id === chosen ? ' selected' : ''}>${esc(u.real_name)}</option>`).join('');
      control = `<select data-action-id="${esc(id)}" data-kind="user"><option value="">${placeholder}</option>${opts}</select>`;
      break;
    }
    case 'static_select': {
      const chosen = val?.selected_option?.value || el.initial_option?.value || '';
      const all = (el.options || []).concat(...(el.option_groups || []).map((g) => g.options));
      const opts = all.map((o) => `<option value="${esc(o.value)}"${o.value === chosen ? ' selected' : ''}>${esc(o.text?.text)}</option>`).join('');
      control = `<select data-action-id="${esc(id)}" data-kind="option"><option value="">${placeholder}</option>${opts}</select>`;
      break;
    }
    case 'external_select': {
      const chosen = val?.selected_option;
      const opt = chosen ? `<option value="${esc(chosen.value)}" selected>${esc(chosen.text?.text)}</option>` : '';
      control = `<select data-action-id="${esc(id)}" data-kind="option" data-external="1"><option value="">${placeholder}</option>${opt}</select>`;
      break;
    }
    default:
      control = `<div class="muted small">[${esc(el.type)}]</div>`;
  }
  return `<div class="bk-input${err ? ' has-error' : ''}" data-block-id="${esc(b.block_id)}">
    <label>${esc(b.label?.text)}${b.optional ? ' <span class="optional">(optional)</span>' : ''}</label>
    ${control}
    ${err ? `<div class="bk-error">${esc(err)}</div>` : ''}
    ${b.hint ? `<div class="bk-hint">${esc(b.hint.text)}</div>` : ''}
  </div>`;
}

function renderModal() {
  const view = slack.modal;
  const backdrop = $('#modal-backdrop');
  if (!view) {
    backdrop.hidden = true;
    modalKey = '';
    return;
  }
  const key = JSON.stringify([view.id, view.hash, view.blocks, view.errors]);
  backdrop.hidden = false;
  if (key === modalKey) return;
  modalKey = key;
  $('#modal-title').textContent = view.title?.text || '';
  $('#modal-submit').textContent = view.submit?.text || 'Submit';
  $('#modal-submit').hidden = !view.submit;
  $('#modal-close').textContent = view.close?.text || 'Cancel';
  $('#modal-error').textContent = '';
  const ctx = { elements: [], view };
  const body = $('#modal-body');
  body.innerHTML = blocks(view.blocks, ctx);
  body.querySelectorAll('[data-kind="text"]').forEach((node) => node.addEventListener('input', () => {
    drafts[view.root_view_id + '/' + node.dataset.actionId] = node.value;
  }));
  body.querySelectorAll('select').forEach((node) => {
    if (node.dataset.external) loadExternal(node);
    node.addEventListener('change', () => chooseInModal(node));
  });
  body.querySelectorAll('button[data-el]').forEach((btn) => {
    toast('Buttons inside modals are not supported by the sandbox yet.');
    btn.disabled = true;
  });
}

async function loadExternal(node) {
  try {
    const options = await post('/sandbox/slack/modal/options', { user: me, action_id: node.dataset.actionId, query: '' });
    const chosen = node.value;
    node.innerHTML = node.options[0].outerHTML + options.map((o) => `<option value="${esc(o.Value)}"${o.Value === chosen ? ' selected' : ''}>${esc(o.Text)}</option>`).join('');
  } catch (e) {
    $('#modal-error').textContent = 'Could not load the options: ' + e.message;
  }
}

async function chooseInModal(node) {
  if (!node.value) return;
  const text = node.options[node.selectedIndex].textContent;
  try {
    await post('/sandbox/slack/modal/input', { user: me, action_id: node.dataset.actionId, kind: node.dataset.kind, value: node.value, text });
  } catch (e) {
    $('#modal-error').textContent = e.message;
  }
}

async function submitModal() {
  const view = slack.modal;
  if (!view) return;
  const texts = {};
  $('#modal-body').querySelectorAll('[data-kind="text"]').forEach((node) => { texts[node.dataset.actionId] = node.value; });
  const btn = $('#modal-submit');
  btn.disabled = true;
  try {
    const res = await post('/sandbox/slack/modal/submit', { user: me, texts });
    if (!res.ResponseAction) Object.keys(drafts).filter((k) => k.startsWith(view.root_view_id + '/')).forEach((k) => delete drafts[k]);
  } catch (e) {
    // Empty required fields are marked under each one, as Slack does: nothing more to say here.
    $('#modal-error').textContent = e.message.includes('required inputs are empty') ? '' : e.message;
  } finally {
    btn.disabled = false;
  }
}

async function closeModal() {
  try {
    await post('/sandbox/slack/modal/close', { user: me });
  } catch (e) {
    toast(e.message);
  }
}

// ---- the composer ----

// slackify turns @name into <@U…|name>, as Slack does for a slash command that asks it to.
function slackify(text) {
  return text.replace(/(^|\s)@([a-z0-9._-]+)/gi, (all, pre, name) => {
    const u = slack.users.find((x) => x.name === name.toLowerCase() || x.real_name.toLowerCase() === name.toLowerCase());
    return u ? `${pre}<@${u.id}|${u.name}>` : all;
  });
}

async function send(ev) {
  ev.preventDefault();
  const box = $('#composer');
  const text = box.value.trim();
  if (!text) return;
  const m = text.match(/^(\/\S+)\s*([\s\S]*)$/);
  if (!m) {
    toast('In the sandbox only /revoke does something: try /revoke help.');
    return;
  }
  box.value = '';
  try {
    await post('/sandbox/slack/command', { user: me, channel: current, command: m[1], text: slackify(m[2]) });
  } catch (e) {
    toast(e.message);
    box.value = text;
  }
}

// ---- AccessOwl ----

function ago(t) {
  const d = new Date(t);
  return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// statusWords are the panel's words for AccessOwl's statuses; the code is in the pill's title.
const statusWords = { processing_access: 'in progress', revoked: 'revoked', rejected: 'rejected' };

function renderOwl() {
  if (!owl) return;
  const revs = owl.revocations || [];
  $('#revocations').innerHTML = revs.map((r) => `<div class="card" data-revocation="${esc(r.id)}">
      <div class="row"><span class="title">${esc(r.person)} · ${esc(r.application)}${r.resource ? ' · ' + esc(r.resource) : ''}</span>
      <span class="pill ${esc(r.status)}" title="${esc(r.status)}">${esc(statusWords[r.status] || r.status)}</span></div>
      <div class="muted">${esc(r.reason)}${r.rejection_reason ? ' — rejected: ' + esc(r.rejection_reason) : ''}</div>
      <div class="muted small">${esc(r.provisioning_type === 'automatic' ? 'removed by AccessOwl' : 'an admin removes it')} · ${ago(r.inserted_at)}</div>
      ${r.status === 'processing_access' ? `<div class="row"><button class="btn primary" data-revoke="${esc(r.id)}">Mark revoked</button><button class="btn danger" data-reject="${esc(r.id)}">Reject</button></div>` : ''}
    </div>`).join('') || '<div class="muted">No revocations.</div>';
  document.querySelectorAll('[data-revoke]').forEach((b) => b.addEventListener('click', () => owlAct('/sandbox/owl/revoke', { id: b.dataset.revoke })));
  document.querySelectorAll('[data-reject]').forEach((b) => b.addEventListener('click', () => {
    openReject(revs.find((r) => r.id === b.dataset.reject));
  }));

  const s = owl.stats;
  $('#owl-stats').textContent = `${s.Requests} · 5xx ${s.ServerErrors} · 429 ${s.RateLimited} · 409 ${s.Conflicts} · dropped ${s.Dropped}`;
  $('#calls').innerHTML = (owl.calls || []).map((c) => {
    const cls = c.dropped || c.status >= 500 ? 'bad' : c.status >= 400 ? 'warn' : '';
    const t = new Date(c.time).toLocaleTimeString([], { hour12: false });
    return `<div class="call ${cls}">${esc(t)} ${esc(c.method.padEnd(4))} ${esc(c.path.replace('/api/v1/', ''))} ${c.dropped ? 'dropped' : c.status}</div>`;
  }).join('') || '<div class="muted">No requests yet.</div>';

  const f = owl.fault;
  const on = f.latency_ms || f.error_rate || f.rate_limits || f.drops;
  $('#fault-state').textContent = on
    ? `In force: ${f.latency_ms} ms latency, ${Math.round(f.error_rate * 100)}% 5xx, ${f.rate_limits} 429s and ${f.drops} drops to come.`
    : 'No faults: AccessOwl answers every request.';

  const access = owl.access_states || [];
  $('#access-count').textContent = `${access.filter((a) => !a.end).length} active of ${access.length}`;
  $('#access').innerHTML = '<table class="access">' + access.map((a) => `<tr class="${a.end ? 'ended' : ''}">
      <td>${esc(a.person)}</td><td>${esc(a.application)}${a.resource ? ' · ' + esc(a.resource) : ''}
      <div class="state-id"><code>${esc(a.id)}</code>${a.end ? '' : `<button class="btn tiny" data-copy="${esc(a.id)}" title="Copy the ID">Copy</button>`}</div></td>
      <td>${esc(a.permissions.join(', '))}</td><td>${a.end ? 'ended' : 'active'}</td></tr>`).join('') + '</table>';
  wireCopies($('#access'));
}

async function owlAct(path, body) {
  try {
    await post(path, body);
  } catch (e) {
    toast('AccessOwl: ' + e.message);
  }
}

async function applyFaults(ev) {
  ev.preventDefault();
  const num = (sel) => Math.max(0, Number($(sel).value) || 0);
  await owlAct('/sandbox/owl/faults', {
    latency_ms: num('#f-latency'),
    error_rate: Math.min(100, num('#f-errors')) / 100,
    rate_limits: num('#f-429'),
    drops: num('#f-drops'),
  });
}

async function clearFaults() {
  for (const sel of ['#f-latency', '#f-errors', '#f-429', '#f-drops']) $(sel).value = 0;
  await owlAct('/sandbox/owl/faults', { latency_ms: 0, error_rate: 0, rate_limits: 0, drops: 0 });
}

// ---- start ----

$('#as').addEventListener('change', (ev) => {
  me = ev.target.value;
  const url = new URL(location.href);
  url.searchParams.set('as', me);
  history.replaceState(null, '', url);
  modalKey = '';
  loadSlack();
});
$('#composer-form').addEventListener('submit', send);
$('#thread-close').addEventListener('click', () => { openThread = ''; renderSlack(); });
$('#modal-submit').addEventListener('click', submitModal);
$('#modal-close').addEventListener('click', closeModal);
$('#modal-x').addEventListener('click', closeModal);
$('#confirm-deny').addEventListener('click', closeConfirm);
$('#confirm-ok').addEventListener('click', () => { const fn = pendingConfirm; closeConfirm(); if (fn) fn(); });
$('#faults').addEventListener('submit', applyFaults);
$('#f-clear').addEventListener('click', clearFaults);

// Start once every script of the page has run: permalink.js and panel.js hold parts of it.
document.addEventListener('DOMContentLoaded', () => {
  loadSlack().then(jumpToLocation).catch((e) => console.error(e)).finally(listen);
  loadOwl();
});
