// The supervisor's console (sup.html): the live wallboard per tier and
// skill, the agents with their state and time in it (force a logout), and
// the day's interval report drawn as an inline SVG chart.
'use strict';

const SVGNS = 'http://www.w3.org/2000/svg';
let agentRows = [];

function secs(ms) { return ms ? Math.round(ms / 1000) + '秒' : '0'; }
function td(v, num) { return el('td', num ? {class: 'num'} : null, v === undefined || v === null ? '-' : v); }
function vsTarget(n, d, target) {
  return pct(n, d) + (target ? ' / ' + (target / 10).toFixed(1) + '%' : '');
}

function renderWallboard(b) {
  setText('wb-at', b.at_ms ? new Date(b.at_ms).toLocaleTimeString('zh-CN') : '-');
  const tb = clear($('wb-tiers').tBodies[0]);
  for (const q of b.tiers || []) {
    const t = q.today || {};
    tb.appendChild(el('tr', {'data-tier': q.name}, td(q.name), td(q.waiting || 0, 1),
      td(secs(q.longest_wait_ms), 1), td(t.offered || 0, 1), td(t.answered || 0, 1),
      td(t.abandoned || 0, 1), td(vsTarget(t.answered_in_sl || 0, t.offered || 0, q.sl_target), 1),
      td(vsTarget(t.answered || 0, t.offered || 0, q.answer_target), 1)));
  }
  const sb = clear($('wb-skills').tBodies[0]);
  for (const q of b.skills || []) {
    const t = q.today || {};
    sb.appendChild(el('tr', {'data-skill': q.name}, td(q.name), td(q.waiting || 0, 1),
      td(secs(q.longest_wait_ms), 1), td(q.ready || 0, 1), td(q.ringing || 0, 1),
      td(q.talking || 0, 1), td(q.wrap_up || 0, 1), td(q.not_ready || 0, 1), td(t.answered || 0, 1)));
  }
  agentRows = b.agents || [];
  renderAgents();
  setText('wb-reasons', (b.not_ready || []).map(r => reasonName(r.reason) + '：' + r.agents + '人').join('　'));
}

function renderAgents() {
  const ab = clear($('wb-agents').tBodies[0]);
  for (const a of agentRows) {
    const btn = el('button', {on: {click: () => forceLogout(a.id)}}, '强制登出');
    ab.appendChild(el('tr', {'data-agent': a.id}, td(a.id), el('td', {class: 'agent-state'}, stateName(a.state)),
      td(a.state === 'not_ready' ? reasonName(a.reason) : ''), td(since(a.state_ms), 1),
      td(a.calls_today || 0, 1), el('td', null, a.state === 'logged_out' ? null : btn)));
  }
}

async function forceLogout(id) {
  if (!confirm('确定强制登出 ' + id + '？')) return;
  try { await api('force_logout', {agent_id: id}); status('已强制登出 ' + id); } catch (e) { status(e.message, true); }
}

function svg(tag, attrs, text) {
  const n = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

// The day on the x axis (midnight to midnight, a tick every 3 hours), a group
// of bars per interval at its time: offered behind, answered and abandoned.
function drawChart(rows, dayStart, ivMs) {
  const W = 640, H = 220, L = 34, R = 6, B = 22, T = 8, DAY = 86400000;
  const s = svg('svg', {class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': '今日分时话务量'});
  const max = Math.max(1, ...rows.map(r => (r.counts || {}).offered || 0));
  const pw = W - L - R, bw = Math.max(pw * (ivMs || 900000) / DAY, 2);
  const x = ms => L + pw * (ms - dayStart) / DAY, h = v => (H - B - T) * v / max;
  s.appendChild(svg('line', {class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B}));
  s.appendChild(svg('line', {class: 'axis', x1: L, y1: T, x2: L, y2: H - B}));
  s.appendChild(svg('text', {x: 2, y: T + 10}, max));
  s.appendChild(svg('text', {x: 2, y: H - B}, 0));
  for (let hr = 0; hr <= 24; hr += 3)
    s.appendChild(svg('text', {x: Math.min(x(dayStart + hr * 3600000), W - R - 16), y: H - 6, 'text-anchor': 'middle'},
      String(hr).padStart(2, '0') + ':00'));
  for (const r of rows) {
    const c = r.counts || {}, x0 = x(Number(r.key));
    s.appendChild(svg('rect', {class: 'offered', x: x0, y: H - B - h(c.offered || 0), width: bw, height: h(c.offered || 0)}));
    s.appendChild(svg('rect', {class: 'answered', x: x0, y: H - B - h(c.answered || 0), width: bw / 2, height: h(c.answered || 0)}));
    s.appendChild(svg('rect', {class: 'abandoned', x: x0 + bw / 2, y: H - B - h(c.abandoned || 0), width: bw / 2, height: h(c.abandoned || 0)}));
  }
  clear($('chart')).appendChild(s);
}

async function loadReport() {
  const d = new Date(); d.setHours(0, 0, 0, 0);
  try {
    const j = await api('report', {from_ms: d.getTime(), to_ms: Date.now(), by: 'interval'});
    const rows = (j.body.rows || []).slice().sort((a, b) => Number(a.key) - Number(b.key));
    const tb = clear($('report').tBodies[0]);
    for (const r of rows) {
      const c = r.counts || {};
      tb.appendChild(el('tr', null, td(new Date(Number(r.key)).toLocaleTimeString('zh-CN', {hour: '2-digit', minute: '2-digit'})),
        td(c.offered || 0, 1), td(c.answered || 0, 1), td(c.abandoned || 0, 1),
        td(pct(c.answered_in_sl || 0, c.offered || 0), 1), td(c.answered ? ((c.wait_ms || 0) / c.answered / 1000).toFixed(1) : '-', 1)));
    }
    drawChart(rows, d.getTime(), Number(j.body.interval_ms) || 900000);
  } catch (e) { status(e.message, true); }
}

const WO_STATES = {new: '新建', dispatched: '已派单', accepted: '已接单', processing: '处理中',
  waiting: '等待客户', replied: '已答复', visiting: '回访中', returned: '已退回', reopened: '已重开',
  escalated: '已升级'};
const CAMPAIGN_STATES = {draft: '草稿', running: '进行中', paused: '暂停', stopped: '已停止', done: '已完成'};
const CLOCKS = {first_response: '首次响应', update: '更新', solution: '解决'};

async function loadOverdue() {
  try {
    const j = await api('order_list', {overdue: true, limit: 50});
    const tb = clear($('overdue').tBodies[0]);
    for (const w of j.body.orders || []) {
      const c = (w.clocks || []).filter(k => Number(k.due_ms) && !Number(k.met_ms))
        .sort((a, b) => Number(a.due_ms) - Number(b.due_ms))[0];
      tb.appendChild(el('tr', {'data-order': w.id}, td(w.id), td((w.kind || '') + ' ' + (w.category || '')),
        td(WO_STATES[w.state] || w.state), td(w.group || '-'), td(w.handler || '-'),
        el('td', {class: 'late'}, c ? (CLOCKS[c.name] || c.name) + ' ' + left(Number(c.due_ms)) : '-')));
    }
    if (!(j.body.orders || []).length) tb.appendChild(el('tr', null, el('td', {colspan: '6', class: 'muted'}, '没有超时工单')));
  } catch (e) { status(e.message, true); }
}

async function loadCampaigns() {
  try {
    const j = await api('campaign_list', {});
    const tb = clear($('campaigns').tBodies[0]);
    for (const c of (j.body.campaigns || []).slice(0, 20)) {
      let r = {};
      try { r = (await api('campaign_show', {name: c.name})).body || {}; } catch (e) { r = {}; }
      const done = Number(r.done || 0), all = done + Number(r.left || 0);
      tb.appendChild(el('tr', {'data-campaign': c.name}, td(c.name), td((c.kind || '') + '/' + (c.mode || '')),
        td(CAMPAIGN_STATES[c.state] || c.state), td(all ? done + '/' + all + ' (' + pct(done, all) + ')' : '-', 1),
        td(r.placed || 0, 1), td(r.agents || 0, 1),
        td(((Number(r.abandon_rate) || 0) * 100).toFixed(1) + '%' + (c.abandon_cap ? ' / ' + (c.abandon_cap / 10).toFixed(1) + '%' : ''), 1)));
    }
    if (!(j.body.campaigns || []).length) tb.appendChild(el('tr', null, el('td', {colspan: '7', class: 'muted'}, '没有外呼活动')));
  } catch (e) { status(e.message, true); }
}

function onEvent(j) {
  if (j.type === 'wallboard_reply') renderWallboard(j.body || {});
}

window.kefuKeep = () => null;

async function main() {
  $('btn-logout').addEventListener('click', logout);
  $('btn-report').addEventListener('click', loadReport);
  $('btn-overdue').addEventListener('click', loadOverdue);
  $('btn-campaigns').addEventListener('click', loadCampaigns);
  const s = await session();
  if (!s.agent || !s.supervisor) { location.href = '/'; return; }
  setText('who', s.agent);
  listen(onEvent);
  try {
    const j = await api('wallboard', {watch: true});
    renderWallboard(j.body || {});
  } catch (e) { status(e.message, true); }
  loadReport();
  loadOverdue();
  loadCampaigns();
  setInterval(renderAgents, 1000);
  setInterval(() => { loadOverdue(); loadCampaigns(); }, 30000);
  setInterval(loadReport, 60000);
}

document.addEventListener('DOMContentLoaded', main);
