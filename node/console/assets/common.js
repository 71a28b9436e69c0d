// kefu console: what both pages share. Plain JS, no framework. Every piece
// of data goes on the page through textContent (el() below), never as markup.
'use strict';

const K = {
  csrf: '', agent: null, supervisor: false, nodes: [], onEvent: null, es: null,
  failing: false, resumed: false, heard: 0, watch: 0,
};

// el('div', {class: 'x'}, 'text', child...): an element whose texts are text, never markup.
function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') n.className = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) n.addEventListener(ev, fn);
    else n.setAttribute(k, v);
  }
  for (const c of kids) {
    if (c === null || c === undefined) continue;
    n.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  return n;
}
function $(id) { return document.getElementById(id); }
function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
function show(id, on) { $(id).hidden = !on; }
function setText(id, t) { $(id).textContent = t === undefined || t === null ? '' : String(t); }

function form(fields) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields || {})) {
    if (Array.isArray(v)) v.forEach(x => p.append(k, x));
    else if (v !== undefined && v !== null && v !== '') p.append(k, String(v));
  }
  return p;
}

// A POST with the session's CSRF token; the answer's JSON ({error} when refused).
async function post(path, fields) {
  const body = form(fields);
  body.append('csrf', K.csrf);
  const r = await fetch(path, {method: 'POST', body, credentials: 'same-origin',
    headers: {'Content-Type': 'application/x-www-form-urlencoded'}});
  let j = null;
  try { j = await r.json(); } catch (e) { j = {error: 'HTTP ' + r.status}; }
  if (!r.ok && !j.error) j.error = 'HTTP ' + r.status;
  return j;
}

// One message of the node's table: resolves to {type, body}; an Error when refused.
async function api(name, fields) {
  const j = await post('/api/' + name, fields);
  if (j.error) throw new Error(j.error);
  if (j.type === 'error') throw new Error((j.body && j.body.message) || '错误');
  if (j.type === 'admin_reply' && j.body && j.body.ok === false) throw new Error(j.body.message || '被拒绝');
  return j;
}

async function session() {
  const r = await fetch('/api/session', {credentials: 'same-origin', cache: 'no-store'});
  const j = await r.json();
  K.csrf = j.csrf; K.agent = j.agent; K.supervisor = !!j.supervisor; K.nodes = j.nodes || [];
  return j;
}

function status(msg, bad) {
  const s = $('status');
  if (!s) return;
  s.textContent = msg;
  s.className = bad ? 'bad' : '';
}

// The token that resumes the session on another node (it serves once; every
// resume gives a new one). Kept for this tab only.
function saveToken(t) { if (t) sessionStorage.setItem('kefu-token', t); }
function token() { return sessionStorage.getItem('kefu-token') || ''; }

// Server-Sent Events: every frame the node sends the session (offers, call
// state, notifications, wallboard updates), as {type, body}.
function listen(onEvent) {
  K.onEvent = onEvent;
  if (K.es) K.es.close();
  const es = new EventSource('/events');
  K.es = es;
  K.heard = Date.now();
  es.onmessage = ev => {
    K.heard = Date.now();
    let j = null;
    try { j = JSON.parse(ev.data); } catch (e) { return; }
    if (j.type === 'session_ended') { status('会话已结束，请重新登录', true); es.close(); }
    if (K.onEvent) K.onEvent(j);
  };
  // The node sends a ping every 15 s: a stream silent for 40 s has lost its
  // node even when no connection error says so (a machine gone, a cable cut).
  if (!K.watch) K.watch = setInterval(() => {
    if (K.es && !K.failing && Date.now() - K.heard > 40000) { K.heard = Date.now(); probe(true); }
  }, 5000);
  es.onopen = () => { if (!K.failing) status('已连接 ' + location.host + (K.resumed ? '（会话已恢复）' : '')); };
  es.onerror = () => { if (!K.failing) probe(); };
}

// The stream broke: is this node still there? If not, go on at another.
async function probe(silent) {
  try {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 5000);
    const r = await fetch('/api/session', {credentials: 'same-origin', cache: 'no-store', signal: ctl.signal});
    clearTimeout(t);
    if (r.ok) {
      const j = await r.json();
      if (!j.agent) {
        status('会话已结束，请重新登录', true);
        K.es.close();
        if (K.onEvent) K.onEvent({type: 'session_ended', body: {}});
      }
      else if (silent) listen(K.onEvent); // the node lives; its stream does not
      return;
    }
  } catch (e) { /* the node is gone */ }
  failover();
}

// Whether the console at url answers (its certificate trusted, its port open).
async function reachable(url) {
  try {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 2000);
    await fetch(url + '/api/session', {mode: 'no-cors', cache: 'no-store', signal: ctl.signal});
    clearTimeout(t);
    return true;
  } catch (e) { return false; }
}

// This node is gone: the first other node that answers gets the page, with
// the token to resume with and what the page showed (window.kefuKeep) in the
// fragment, which is never sent to a server.
async function failover() {
  if (K.failing) return;
  K.failing = true;
  if (K.es) K.es.close();
  status('节点无响应，正在切换…', true);
  const here = location.origin;
  const others = K.nodes.map(u => u.replace(/\/$/, '')).filter(u => u !== here);
  for (let round = 0; round < 60; round++) {
    for (const u of others) {
      if (await reachable(u)) {
        const frag = new URLSearchParams({resume: token(), page: location.pathname});
        const keep = window.kefuKeep ? window.kefuKeep() : null;
        if (keep) frag.set('keep', JSON.stringify(keep));
        location.href = u + '/#' + frag.toString();
        return;
      }
    }
    await new Promise(r => setTimeout(r, 1000));
  }
  status('没有可用的节点', true);
}

// After a failover: the fragment names the token to resume with (and what the
// page showed). Returns {reply, keep, page}, or null when this is no resume.
async function resumeFromFragment() {
  if (!location.hash.startsWith('#resume=')) return null;
  const p = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, '', location.pathname);
  const nodes = K.nodes;
  await session(); // the pre-login CSRF token of this node
  const j = await post('/resume', {token: p.get('resume')});
  if (j.error || j.type !== 'login_reply') throw new Error(j.error || (j.body && j.body.message) || '恢复会话失败');
  K.csrf = j.csrf; K.agent = j.body.agent_id; K.supervisor = !!j.supervisor;
  K.nodes = j.nodes || nodes;
  saveToken(j.body.token);
  K.resumed = true;
  let keep = null;
  try { keep = JSON.parse(p.get('keep') || 'null'); } catch (e) { keep = null; }
  return {reply: j, keep, page: p.get('page') || '/'};
}

async function logout() {
  try { await post('/logout', {}); } catch (e) { /* gone anyway */ }
  sessionStorage.removeItem('kefu-token');
  location.href = '/';
}

const STATES = {ready: '就绪', not_ready: '未就绪', wrap_up: '话后整理', offered: '振铃',
  reserved: '振铃', on_call: '通话中', logged_out: '已登出'};
const REASONS = {break: '小休', lunch: '用餐', training: '培训', meeting: '会议', login: '刚登录'};
function stateName(s) { return STATES[s] || s || '-'; }
function reasonName(r) { return REASONS[r] || r || ''; }
function yuan(fen) { return ((Number(fen) || 0) / 100).toFixed(2); }
function left(ms) {
  if (!ms) return '-';
  const d = ms - Date.now(), a = Math.abs(d);
  const h = Math.floor(a / 3600000), m = Math.floor(a % 3600000 / 60000);
  return (d < 0 ? '超时 ' : '剩余 ') + h + '时' + m + '分';
}
function since(ms) {
  if (!ms) return '-';
  const s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
  return Math.floor(s / 60) + '分' + (s % 60) + '秒';
}
function pct(n, d) { return d ? (100 * n / d).toFixed(1) + '%' : '-'; }
