// The editors' review (review.html): versions waiting in review, each beside
// the live version, approved or sent back; feedback and articles due for a
// look. Who may approve is the node's decision (the kb component's rules).
'use strict';

let current = 0;

function note(msg, bad) { const n = $('review-result'); n.textContent = msg; n.className = bad ? 'bad' : 'good'; }
function td(v) { return el('td', null, v === undefined || v === null ? '-' : v); }

async function loadQueue() {
  try {
    const j = await api('kb_queue', {});
    const b = j.body || {};
    const tb = clear($('review-list').tBodies[0]);
    for (const v of b.review || []) {
      const tr = el('tr', {class: 'kb-hit', tabindex: '0', 'data-article': v.article}, td(v.article), td(v.version),
        td(v.title), td(v.author), td(v.submitted_by));
      tr.addEventListener('click', () => openArticle(v.article));
      tr.addEventListener('keydown', ev => { if (ev.key === 'Enter') openArticle(v.article); });
      tb.appendChild(tr);
    }
    if (!(b.review || []).length) tb.appendChild(el('tr', null, el('td', {colspan: '5', class: 'muted'}, '没有待审核的版本')));
    const fb = clear($('feedback'));
    for (const f of (b.feedback || []).slice(0, 30))
      fb.appendChild(el('li', null, el('b', null, '#' + f.article), ' ', f.agent || '', ' ',
        el('span', {class: 'snippet'}, f.comment || '')));
    const due = clear($('due'));
    for (const a of b.due || []) due.appendChild(el('li', null, el('b', null, '#' + a.id), ' ', a.title || ''));
  } catch (e) { status(e.message, true); }
}

async function openArticle(id, keepNote) {
  current = Number(id);
  if (!keepNote) note('');
  try {
    const b = (await api('kb_show', {id: current})).body || {};
    const a = b.article || {}, vs = b.versions || [];
    const live = vs.find(v => v.version === a.live), rev = vs.find(v => v.version === a.review);
    setText('cmp-title', '#' + current + ' ' + (a.title || ''));
    setText('live-ver', live ? 'v' + live.version : '（无）');
    setText('live-body', live ? live.title + '\n\n' + (live.body || '') : '');
    setText('review-ver', rev ? 'v' + rev.version + ' · ' + (rev.author || '') : '（无）');
    setText('review-body', rev ? rev.title + '\n\n' + (rev.body || '') : '');
    show('compare', true);
    return a;
  } catch (e) { status(e.message, true); return null; }
}

async function decide(action) {
  if (!current) return;
  const noteText = $('reject-note').value.trim();
  if (action === 'reject' && !noteText) { note('请填写退回原因', true); return; }
  try {
    await api('kb_action', {id: current, action, note: action === 'reject' ? noteText : ''});
    note(action === 'approve' ? '已批准发布' : '已退回', false);
    $('reject-note').value = '';
    // This node's replica shows the decision once it has applied it.
    for (let i = 0; i < 20; i++) {
      const a = await openArticle(current, true);
      if (!a || !a.review) break;
      await new Promise(r => setTimeout(r, 300));
    }
    loadQueue();
  } catch (e) { note(e.message, true); }
}

window.kefuKeep = () => null;

async function main() {
  $('btn-logout').addEventListener('click', logout);
  $('btn-queue').addEventListener('click', loadQueue);
  $('btn-approve').addEventListener('click', () => decide('approve'));
  $('btn-reject').addEventListener('click', () => decide('reject'));
  const s = await session();
  if (!s.agent) { location.href = '/'; return; }
  setText('who', s.agent);
  listen(() => {});
  loadQueue();
}

document.addEventListener('DOMContentLoaded', main);
