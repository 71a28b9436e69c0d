// The agent's desktop (index.html): login, state, the offer and its screen
// pop, verification, bills, work orders, the knowledge base. Every request
// is one message of the node's table (/api/<name>); what the node pushes
// arrives on the event stream (common.js).
'use strict';

const A = {
  state: '', reason: '', stateSince: 0,
  call: null,        // the current offer's Offer body (masked until verified)
  full: null,        // {user, customer} after verification
  verified: false, callState: '', cats: [],
};

const STATUS = {1: '正常', 2: '停机', 3: '欠费停机', 4: '销户'};
const VIP = ['普通', '银卡', '金卡', '白金', '钻石'];
const KINDS = {complaint: '投诉', fault: '故障', request: '业务办理', consult: '咨询',
  suggestion: '建议', escalated: '升级投诉', appeal: '申诉'};
const WO_STATES = {new: '新建', dispatched: '已派单', accepted: '已接单', processing: '处理中',
  waiting: '等待客户', replied: '已答复', visiting: '回访中', closed: '已关闭', returned: '已退回',
  reopened: '已重开', escalated: '已升级', cancelled: '已撤销'};

function note(id, msg, bad) { const n = $(id); n.textContent = msg; n.className = bad ? 'bad' : 'good'; }

// ---- state ----

function setState(s, reason, callId) {
  if (s !== A.state) A.stateSince = Date.now();
  A.state = s; A.reason = reason || '';
  setText('state', stateName(s));
  setText('state-reason', s === 'not_ready' ? reasonName(reason) : '');
  $('btn-wrapdone').disabled = s !== 'wrap_up';
  $('btn-ready').disabled = s === 'ready' || s === 'on_call' || s === 'offered';
  if (s === 'on_call' || s === 'offered' || s === 'wrap_up') A.callState = s;
  if (A.call) {
    setText('call-state', stateName(s));
    // The offer rings until answered: no state of its own is sent for it.
    $('btn-answer').disabled = s === 'on_call' || s === 'wrap_up';
    $('btn-reject').disabled = $('btn-answer').disabled;
    $('btn-hangup').disabled = s !== 'on_call';
  }
  if (callId === '' && s === 'ready' && A.call) clearCall();
}

// A request whose answer may be the agent's new state: shown like an event.
async function act(name, fields) {
  const j = await api(name, fields);
  onEvent(j);
  return j;
}

async function changeState(state, reason) {
  try { await act('set_agent_state', {state, reason}); } catch (e) { status(e.message, true); }
}

// ---- the call ----

function popRow(dl, label, value, id) {
  dl.appendChild(el('dt', null, label));
  dl.appendChild(el('dd', id ? {id} : null, value === undefined || value === null ? '-' : value));
}

// A subscriber's profile (user) and customer as rows of a screen pop; the
// rows that tests and keys look for get ids prefix-name, -msisdn, -idno, -address.
function profileRows(dl, u, c, prefix) {
  popRow(dl, '客户姓名', c.name, prefix + '-name');
  popRow(dl, '手机号码', u.msisdn, prefix + '-msisdn');
  popRow(dl, '品牌', u.brand);
  popRow(dl, '套餐', u.plan_id);
  popRow(dl, '状态', STATUS[u.status] || u.status);
  popRow(dl, '余额(元)', yuan(u.balance));
  popRow(dl, '欠费(元)', yuan(u.arrears));
  popRow(dl, '客户级别', VIP[c.vip_level] || c.vip_level);
  popRow(dl, '证件类型', c.id_type);
  popRow(dl, '证件号码', c.id_no, prefix + '-idno');
  popRow(dl, '联系地址', c.address, prefix + '-address');
}

function renderPop() {
  const o = A.call, u = (A.full && A.full.user) || o.user || {}, c = (A.full && A.full.customer) || o.customer || {};
  const dl = clear($('pop'));
  popRow(dl, '来电号码', o.ani, 'pop-ani');
  profileRows(dl, u, c, 'pop');
  popRow(dl, '技能队列', o.skill);
  popRow(dl, '服务等级', o.tier);
  const tag = $('verified-tag');
  tag.textContent = A.verified ? '已核验' : '未核验（证件信息已遮蔽）';
  tag.className = 'tag ' + (A.verified ? 'ok' : 'warn');
  $('btn-bills').disabled = !A.verified;
  $('wo-msisdn').value = u.msisdn || o.ani || '';
}

function renderCall() {
  const o = A.call;
  show('no-call', !o); show('call', !!o);
  if (!o) { setText('call-id', ''); return; }
  setText('call-id', o.call_id);
  renderPop();
  const oo = clear($('open-orders'));
  for (const w of o.open_orders || [])
    oo.appendChild(el('li', null, el('b', null, w.id), ' ', KINDS[w.kind] || w.kind, ' ',
      WO_STATES[w.state] || w.state, ' ', el('span', {class: 'snippet'}, w.category || '')));
  if (!(o.open_orders || []).length) oo.appendChild(el('li', {class: 'muted'}, '无'));
  const sg = clear($('suggested'));
  for (const h of o.articles || []) sg.appendChild(kbItem(h));
  if (!(o.articles || []).length) sg.appendChild(el('li', {class: 'muted'}, '无'));
  setState(A.state, A.reason);
}

function clearCall() {
  A.call = null; A.full = null; A.verified = false;
  setText('verify-result', ''); $('verify-digits').value = '';
  show('bills-panel', false);
  renderCall();
}

function onOffer(o) {
  A.call = o; A.full = null; A.verified = !!o.verified;
  setText('verify-result', '');
  show('bills-panel', false);
  renderCall();
  $('btn-answer').focus();
}

async function answer() {
  if (!A.call) return;
  try { await act('answer_call', {call_id: A.call.call_id}); } catch (e) { status(e.message, true); }
}
async function reject() {
  if (!A.call) return;
  try { await act('reject_call', {call_id: A.call.call_id}); clearCall(); } catch (e) { status(e.message, true); }
}
async function hangup() {
  if (!A.call) return;
  try { await act('hangup_call', {call_id: A.call.call_id}); } catch (e) { status(e.message, true); }
}
async function wrapDone() {
  try { await act('wrap_up_done', {ready: true}); clearCall(); } catch (e) { status(e.message, true); }
}

async function verify(ev) {
  ev.preventDefault();
  if (!A.call) return;
  const digits = $('verify-digits').value.trim();
  if (!digits) { note('verify-result', '请输入证件号码后6位', true); return; }
  try {
    const j = await api('verify_identity', {call_id: A.call.call_id, method: 'id-digits', id_digits: digits});
    const b = j.body || {};
    if (b.result === 'verified') {
      A.verified = true; A.full = {user: b.user, customer: b.customer};
      note('verify-result', '核验通过', false);
      renderPop();
      $('btn-bills').focus();
    } else if (b.result === 'locked') {
      note('verify-result', '核验已锁定（本次通话失败次数过多）', true);
    } else {
      note('verify-result', '核验未通过，剩余 ' + (b.attempts_left || 0) + ' 次', true);
    }
  } catch (e) { note('verify-result', e.message, true); }
}

async function bills() {
  if (!A.call || !A.verified) return;
  try {
    const j = await api('bills_request', {call_id: A.call.call_id, months: 3});
    const b = j.body || {};
    const tb = clear($('bills').tBodies[0]);
    for (const x of b.bills || [])
      tb.appendChild(el('tr', null, el('td', null, x.bill_month), el('td', null, x.item_name || x.item_code),
        el('td', {class: 'num'}, yuan(x.amount))));
    const tc = clear($('cdrs').tBodies[0]);
    for (const x of b.cdrs || [])
      tc.appendChild(el('tr', null, el('td', null, x.start_time), el('td', null, x.other_party),
        el('td', {class: 'num'}, x.duration_s || 0), el('td', null, x.call_type), el('td', null, x.location),
        el('td', {class: 'num'}, yuan(x.fee))));
    show('bills-panel', true);
  } catch (e) { status(e.message, true); }
}

// ---- work orders: the category tree as one select per level ----

function catChildren(prefix) {
  const out = new Set();
  for (const p of A.cats) {
    if (prefix && !p.startsWith(prefix + '/')) continue;
    const rest = prefix ? p.slice(prefix.length + 1) : p;
    if (rest) out.add(rest.split('/')[0]);
  }
  return [...out];
}

function renderCats(level) {
  const box = $('wo-cats');
  const sels = [...box.querySelectorAll('select')];
  sels.slice(level).forEach(s => s.parentNode.remove());
  const prefix = sels.slice(0, level).map(s => s.value).filter(Boolean).join('/');
  const kids = catChildren(prefix);
  if (!kids.length) return;
  const sel = el('select', {id: 'wo-cat-' + level, 'aria-label': '分类第' + (level + 1) + '级'},
    el('option', {value: ''}, level ? '（不细分）' : '请选择'), ...kids.map(k => el('option', {value: k}, k)));
  sel.addEventListener('change', () => renderCats(level + 1));
  box.appendChild(el('label', null, level ? '' : '分类', sel));
}

async function loadCats() {
  const kind = $('wo-kind').value;
  clear($('wo-cats'));
  try {
    const j = await api('order_categories', {kind});
    A.cats = (j.body.paths || []).map(p => p.startsWith(kind + '/') ? p.slice(kind.length + 1) : p);
  } catch (e) { A.cats = []; }
  renderCats(0);
}

async function createOrder(ev) {
  ev.preventDefault();
  const category = [...$('wo-cats').querySelectorAll('select')].map(s => s.value).filter(Boolean).join('/');
  const f = {kind: $('wo-kind').value, category, urgency: $('wo-urgency').value,
    msisdn: $('wo-msisdn').value.trim(), description: $('wo-desc').value.trim(),
    client_ref: 'web-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8)};
  if (A.call) f.call_id = A.call.call_id;
  if (!f.category) { note('wo-result', '请选择分类', true); return; }
  try {
    const j = await api('order_create', f);
    const o = (j.body && j.body.order) || {};
    note('wo-result', '工单已创建：' + o.id, false);
    $('wo-result').dataset.order = o.id || '';
    $('wo-desc').value = '';
    loadOrdersUntil(o.id);
  } catch (e) { note('wo-result', e.message, true); }
}

// ---- the knowledge base: results while typing ----

function kbItem(h) {
  return el('li', {class: 'kb-hit', tabindex: '0', 'data-id': h.id,
    on: {click: () => kbOpen(h.id), keydown: ev => { if (ev.key === 'Enter') kbOpen(h.id); }}},
  el('b', null, h.title), ' ', el('span', {class: 'tag'}, h.category || ''),
  el('span', {class: 'snippet'}, h.snippet || ''));
}

// An article read: its live version's text, its use; reading it counts a view.
let kbOpenId = 0;
function kbShow(b) {
  const a = b.article || {}, st = b.stats || {};
  if ((b.versions || []).length) {
    const live = b.versions.find(v => v.version === a.live) || b.versions[0];
    setText('kb-title', live.title || a.title);
    setText('kb-cat', live.category || '');
    setText('kb-body', live.body || '');
  }
  setText('kb-stats', '浏览 ' + (st.views || 0) + ' · 引用 ' + (st.used || 0) + ' · 有帮助 ' + (st.helpful || 0) +
    ' · 没帮助 ' + (st.unhelpful || 0));
  show('kb-article', true);
}
async function kbOpen(id) {
  kbOpenId = Number(id);
  setText('kb-note', '');
  try {
    kbShow((await api('kb_show', {id: kbOpenId})).body);
    kbShow((await api('kb_view', {id: kbOpenId})).body);
  } catch (e) { note('kb-note', e.message, true); }
}
async function kbUse(fields, msg) {
  if (!kbOpenId) return;
  try { kbShow((await api(fields.helpful === undefined ? 'kb_view' : 'kb_feedback', Object.assign({id: kbOpenId}, fields))).body); note('kb-note', msg, false); }
  catch (e) { note('kb-note', e.message, true); }
}

// ---- work orders: mine and my groups', the clocks as time left ----

// The transitions offered are the node's answer for this agent (the table
// of docs/workflow.md against the agent's roles toward each order); the
// node checks each again when it is asked, and its refusal is shown.
const ACTION_NAMES = {dispatch: '派单', accept: '接单', start: '开始处理', wait: '等待客户', resume: '恢复',
  reply: '答复', return: '退回', close: '结单', satisfied: '回访满意', unsatisfied: '回访不满意',
  reopen: '重开', escalate: '升级', cancel: '撤销', note: '备注', reassign: '转交负责人'};
const NEEDS_NOTE = new Set(['reply', 'return', 'unsatisfied', 'reopen', 'escalate', 'cancel', 'reassign']);
const CLOCKS = {first_response: '首次响应', update: '更新', solution: '解决'};
const SCOPES = {mine: 'wo-mine-list', my_groups: 'wo-group-list'};

function clockText(w) {
  const c = (w.clocks || []).find(k => Number(k.due_ms) && !Number(k.met_ms));
  if (!c) return {t: (w.clocks || []).some(k => k.paused) ? '暂停' : '-', late: false};
  return {t: (CLOCKS[c.name] || c.name) + ' ' + left(Number(c.due_ms)), late: Number(c.due_ms) < Date.now()};
}

function actionSelect(id, actions) {
  const acts = (actions || []).filter(a => a !== 'note');
  const sel = el('select', {'aria-label': '操作'}, el('option', {value: ''}, acts.length ? '操作…' : '无可用操作'),
    ...acts.map(a => el('option', {value: a}, ACTION_NAMES[a] || a)));
  sel.disabled = !acts.length;
  sel.addEventListener('change', () => { if (sel.value) transition(id, sel.value); sel.value = ''; });
  return sel;
}

// One list: the open orders of the scope, each with the actions the node allows.
async function loadScope(scope) {
  const j = await api('order_list', {state: 'open', scope, limit: 100});
  const list = j.body.orders || [], acts = {};
  for (const a of j.body.actions || []) acts[a.id] = a.actions || [];
  const tb = clear($(SCOPES[scope]).tBodies[0]);
  for (const w of list) {
    const ck = clockText(w);
    tb.appendChild(el('tr', {'data-order': w.id, 'data-actions': (acts[w.id] || []).join(' ')},
      el('td', null, el('a', {href: '#', class: 'wo-open', on: {click: ev => { ev.preventDefault(); openOrder(w.id); }}}, w.id)),
      el('td', null, (KINDS[w.kind] || w.kind) + ' ' + (w.category || '')),
      el('td', null, (WO_STATES[w.state] || w.state) + (w.group ? ' · ' + w.group : '')),
      el('td', ck.late ? {class: 'late clock'} : {class: 'clock'}, ck.t),
      el('td', null, actionSelect(w.id, acts[w.id]))));
  }
  if (!list.length) tb.appendChild(el('tr', null, el('td', {colspan: '5', class: 'muted'}, '没有工单')));
  if (scope === 'my_groups') setText('wo-groups', (j.body.groups || []).length ? j.body.groups.join('、') : '（未加入处理组）');
  return list;
}

async function loadOrders() {
  try {
    const [mine, groups] = await Promise.all([loadScope('mine'), loadScope('my_groups')]);
    if (W.open) openOrder(W.open, true);
    return mine.concat(groups);
  } catch (e) { note('wo-act-result', e.message, true); return []; }
}

// The list once this node's replica has the change (an order written
// through the leader reaches a follower a moment later).
async function loadOrdersUntil(id, state) {
  for (let i = 0; i < 20; i++) {
    const list = await loadOrders();
    if (list.some(w => w.id === id && (!state || w.state === state))) return;
    await new Promise(r => setTimeout(r, 300));
  }
}

async function transition(id, action, noteText) {
  const req = {id, action};
  if (action === 'reassign') {
    // A supervisor hands the order to another agent, who owns it from then on.
    req.owner = (prompt('转交负责人：新负责人的工号') || '').trim();
    if (!req.owner) return;
  }
  if (noteText === undefined) {
    noteText = '';
    if (NEEDS_NOTE.has(action)) {
      noteText = prompt((ACTION_NAMES[action] || action) + '：请填写说明') || '';
      if (!noteText.trim()) return;
    }
  }
  try {
    req.note = noteText.trim();
    const j = await api('order_transition', req);
    const o = (j.body && j.body.order) || {};
    note('wo-act-result', o.id + ' → ' + (WO_STATES[o.state] || o.state), false);
    loadOrdersUntil(o.id, o.state);
  } catch (e) { note('wo-act-result', e.message, true); }
}

// ---- one order opened: its history, its notes, its actions ----

const W = {open: ''};
const STEP_NAMES = Object.assign({create: '创建', upgrade: '升级类型'}, ACTION_NAMES);

function when(ms) { return ms ? new Date(Number(ms)).toLocaleString('zh-CN', {hour12: false}) : '-'; }

async function openOrder(id, quiet) {
  W.open = id;
  try {
    const b = (await api('order_show', {id})).body || {};
    const o = b.order || {};
    setText('wo-d-id', o.id);
    const dl = clear($('wo-d-info'));
    popRow(dl, '类型', (KINDS[o.kind] || o.kind) + ' ' + (o.category || ''));
    popRow(dl, '状态', WO_STATES[o.state] || o.state, 'wo-d-state');
    popRow(dl, '号码', o.msisdn);
    popRow(dl, '首问', o.owner);
    popRow(dl, '处理组', o.group || '-');
    popRow(dl, '处理人', o.handler || '-');
    popRow(dl, '处理时限', clockText(o).t);
    popRow(dl, '描述', o.description || '');
    const tb = clear($('wo-history').tBodies[0]), notes = clear($('wo-notes'));
    for (const st of o.history || []) {
      tb.appendChild(el('tr', null, el('td', null, when(st.at_ms)), el('td', null, STEP_NAMES[st.action] || st.action),
        el('td', null, (WO_STATES[st.from] || st.from || '') + ' → ' + (WO_STATES[st.to] || st.to || '')),
        el('td', null, (st.by || '') + (st.role ? ' (' + st.role + ')' : '')),
        el('td', null, st.note || '')));
      if (st.note) notes.appendChild(el('li', null, el('b', null, when(st.at_ms) + ' ' + (st.by || '')), ' ', st.note));
    }
    if (!notes.firstChild) notes.appendChild(el('li', {class: 'muted'}, '无'));
    const acts = b.actions || [];
    $('wo-d-act').replaceChildren(actionSelect(o.id, acts));
    show('wo-d-note-form', acts.includes('note'));
    show('wo-detail', true);
  } catch (e) { if (!quiet) note('wo-act-result', e.message, true); }
}

async function addNote(ev) {
  ev.preventDefault();
  const text = $('wo-d-note').value.trim();
  if (!W.open || !text) return;
  try {
    await api('order_update', {id: W.open, note: text});
    $('wo-d-note').value = '';
    note('wo-act-result', W.open + ' 备注已添加', false);
    for (let i = 0; i < 20; i++) {
      await openOrder(W.open, true);
      if ([...$('wo-notes').children].some(li => li.textContent.includes(text))) return;
      await new Promise(r => setTimeout(r, 300));
    }
  } catch (e) { note('wo-act-result', e.message, true); }
}

let kbTimer = 0, kbSeq = 0;
function kbInput() {
  clearTimeout(kbTimer);
  kbTimer = setTimeout(kbSearch, 150);
}
async function kbSearch() {
  const q = $('kb-q').value.trim(), seq = ++kbSeq;
  const ul = $('kb-results');
  if (!q) { clear(ul); return; }
  try {
    const j = await api('kb_search', {query: q, limit: 8});
    if (seq !== kbSeq) return; // a newer query is on its way
    clear(ul);
    for (const h of j.body.results || []) ul.appendChild(kbItem(h));
    if (!(j.body.results || []).length) ul.appendChild(el('li', {class: 'muted'}, '没有找到相关知识'));
  } catch (e) { if (seq === kbSeq) { clear(ul); ul.appendChild(el('li', {class: 'bad'}, e.message)); } }
}

// ---- outbound: preview a contact, dial or skip, record the disposition ----

const D = {contact: null, attempt: '', campaign: ''};

function dialCampaign() { return $('dial-campaign').value.trim(); }

async function dialJoin(state) {
  if (!dialCampaign()) { note('dial-result', '请填写活动名称', true); return; }
  try {
    await api('dial_agent', {campaign: dialCampaign(), state});
    note('dial-result', state === 'leave' ? '已离开活动' : '已加入活动 ' + dialCampaign(), false);
  } catch (e) { note('dial-result', e.message, true); }
}

async function dialNext() {
  if (!dialCampaign()) { note('dial-result', '请填写活动名称', true); return; }
  try {
    const b = (await api('dial_preview', {campaign: dialCampaign()})).body || {};
    if (!b.contact) { D.contact = null; show('dial-contact', false); show('dial-actions', false); note('dial-result', '暂无待拨客户', false); return; }
    D.contact = b;
    const u = b.user || {}, c = b.customer || {}, dl = clear($('dial-contact'));
    popRow(dl, '号码', b.msisdn, 'dial-msisdn');
    popRow(dl, '客户姓名', c.name);
    popRow(dl, '套餐', u.plan_id);
    popRow(dl, '欠费(元)', yuan(u.arrears));
    popRow(dl, '证件号码', c.id_no);
    popRow(dl, '序号', b.contact);
    show('dial-contact', true); show('dial-actions', true);
    setText('dial-result', '');
  } catch (e) { note('dial-result', e.message, true); }
}

async function dialAct(action) {
  if (!D.contact) return;
  const reason = $('dial-skip-reason').value.trim();
  if (action === 'skip' && !reason) { note('dial-result', '请填写跳过原因', true); return; }
  try {
    const j = await api('dial_preview_action', {campaign: D.contact.campaign || dialCampaign(),
      contact: D.contact.contact, action, reason: action === 'skip' ? reason : ''});
    if (action === 'dial') {
      D.attempt = (j.body && j.body.message) || '';
      note('dial-result', '正在拨打 ' + D.contact.msisdn, false);
      show('dial-dispo-form', true);
    } else {
      note('dial-result', '已跳过 ' + D.contact.msisdn, false);
    }
    $('dial-skip-reason').value = '';
    D.contact = null; show('dial-actions', false);
  } catch (e) { note('dial-result', e.message, true); }
}

// An outbound call answered and put through to this agent: its screen pop
// (the number, the subscriber's profile as the preview shows it, the
// customer masked), then the disposition.
function onDialConnect(b) {
  D.attempt = b.attempt_id || D.attempt;
  D.campaign = b.campaign || dialCampaign();
  const u = b.user || {}, c = b.customer || {}, dl = clear($('dial-pop'));
  popRow(dl, '外呼号码', b.msisdn, 'dial-pop-number');
  profileRows(dl, u, c, 'dial-pop');
  popRow(dl, '活动', D.campaign);
  setText('dial-pop-attempt', D.attempt);
  show('dial-pop-panel', true);
  note('dial-result', '外呼已接通 ' + (b.msisdn || ''), false);
  show('dial-dispo-form', true);
  $('dial-dispo').focus();
}

async function dialDisposition(ev) {
  ev.preventDefault();
  const f = {campaign: D.campaign || dialCampaign(), attempt_id: D.attempt, disposition: $('dial-dispo').value,
    note: $('dial-note').value.trim()};
  if (f.disposition === 'promise' && !$('dial-promise').value) { note('dial-result', '请填写承诺日期', true); return; }
  if (f.disposition === 'callback' && !$('dial-callback').value) { note('dial-result', '请填写回拨时间', true); return; }
  if (f.disposition === 'promise') f.promise_date = $('dial-promise').value;
  if (f.disposition === 'callback' && $('dial-callback').value) f.callback_ms = new Date($('dial-callback').value).getTime();
  try {
    await api('dial_disposition', f);
    note('dial-result', '结果已记录', false);
    show('dial-dispo-form', false); show('dial-pop-panel', false); $('dial-note').value = '';
    D.attempt = '';
  } catch (e) { note('dial-result', e.message, true); }
}

// ---- events ----

function onEvent(j) {
  const b = j.body || {};
  switch (j.type) {
  case 'offer': onOffer(b); break;
  case 'offer_revoked':
    if (A.call && A.call.call_id === b.call_id) { status('来电已撤回：' + (b.reason || ''), true); clearCall(); }
    break;
  case 'agent_status': setState(b.state, b.reason, b.call_id); break;
  case 'dial_connect': onDialConnect(b); break;
  case 'order_notice':
    status((b.escalation && b.escalation.action === 'reassign' ? '工单转交给您：' : '工单提醒：') +
      ((b.escalation && (b.escalation.id || b.escalation.order_id)) || b.kind || ''), false);
    loadOrders();
    break;
  case 'session_ended': show('desk', false); show('login-view', true); break;
  default: break;
  }
}

// What the page shows that must survive a move to another node (common.js).
// The full profile of a verified caller is not carried: the new node shows
// the masked one, and answers bills on its own record of the verification.
window.kefuKeep = () => ({call: A.call, verified: A.verified, state: A.state, reason: A.reason,
  callState: A.callState});

function startDesk(reply, keep) {
  show('login-view', false); show('desk', true);
  show('btn-logout', true); show('sup-link', K.supervisor); show('review-link', true);
  setText('who', (reply && reply.name ? reply.name + ' ' : '') + (K.agent || ''));
  if (keep && keep.call && reply && reply.call_id) { A.call = keep.call; A.verified = !!keep.verified; }
  setState((reply && reply.state) || (keep && keep.state) || '', (keep && keep.reason) || '');
  renderCall();
  listen(onEvent);
  loadCats();
  loadOrders();
  setInterval(() => { if (A.stateSince) setText('state-since', since(A.stateSince)); }, 1000);
}

async function login(ev) {
  ev.preventDefault();
  setText('login-error', '');
  try {
    const j = await post('/login', {agent_id: $('login-agent').value.trim(), password: $('login-password').value});
    $('login-password').value = '';
    if (j.error || j.type !== 'login_reply') throw new Error(j.error || (j.body && j.body.message) || '登录失败');
    K.csrf = j.csrf; K.agent = j.body.agent_id; K.supervisor = !!j.supervisor; K.nodes = j.nodes || K.nodes;
    saveToken(j.body.token);
    startDesk(j.body, null);
  } catch (e) { setText('login-error', e.message); }
}

// Keys for the frequent actions (accesskeys too): F2 ready, F3 answer,
// F4 verify, F6 wrap-up done.
function onKey(ev) {
  if ($('desk').hidden) return;
  const k = {F2: () => changeState('ready'), F3: answer, F4: () => $('verify-digits').focus(),
    F6: wrapDone}[ev.key];
  if (k) { ev.preventDefault(); k(); }
}

async function main() {
  $('login-form').addEventListener('submit', login);
  $('btn-ready').addEventListener('click', () => changeState('ready'));
  $('btn-notready').addEventListener('click', () => changeState('not_ready', $('nr-reason').value));
  $('btn-wrapdone').addEventListener('click', wrapDone);
  $('btn-answer').addEventListener('click', answer);
  $('btn-reject').addEventListener('click', reject);
  $('btn-hangup').addEventListener('click', hangup);
  $('verify-form').addEventListener('submit', verify);
  $('btn-bills').addEventListener('click', bills);
  $('wo-kind').addEventListener('change', loadCats);
  $('wo-form').addEventListener('submit', createOrder);
  $('kb-q').addEventListener('input', kbInput);
  $('btn-logout').addEventListener('click', logout);
  $('kb-used').addEventListener('click', () => kbUse({used: true}, '已记录：用于答复'));
  $('kb-helpful').addEventListener('click', () => kbUse({helpful: true}, '感谢反馈'));
  $('kb-unhelpful').addEventListener('click', () => kbUse({helpful: false}, '感谢反馈'));
  $('wo-refresh').addEventListener('click', loadOrders);
  $('dial-join').addEventListener('click', () => dialJoin('ready'));
  $('dial-leave').addEventListener('click', () => dialJoin('leave'));
  $('dial-next').addEventListener('click', dialNext);
  $('dial-dial').addEventListener('click', () => dialAct('dial'));
  $('dial-skip').addEventListener('click', () => dialAct('skip'));
  $('dial-dispo-form').addEventListener('submit', dialDisposition);
  $('wo-d-note-form').addEventListener('submit', addNote);
  $('wo-d-close').addEventListener('click', () => { W.open = ''; show('wo-detail', false); });
  document.addEventListener('keydown', onKey);
  try {
    const r = await resumeFromFragment();
    if (r) {
      if (r.page && r.page !== '/' && r.page !== '/index.html') { location.href = r.page; return; }
      status('已在 ' + location.host + ' 恢复会话');
      startDesk(r.reply.body, r.keep);
      return;
    }
  } catch (e) { status(e.message, true); }
  const s = await session();
  if (s.agent) { startDesk({state: ''}, null); return; }
  show('login-view', true);
  $('login-agent').focus();
}

document.addEventListener('DOMContentLoaded', main);
