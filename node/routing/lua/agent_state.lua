-- agent_state: an agent logs in, logs out, goes ready or not ready.
-- KEYS: epoch, agent:<id>, strategy, ready:<skill>... (the agent's skills, in order)
-- ARGV: epoch, now_ms, state (logged_out|not_ready|ready), reason, owner, session,
--       skills ("skill:level,..."), order, [gen], [iv_ms] (interval statistics; 0: off)
-- Derived: presence is not checked here (the agent's own node calls this).
-- Skills and order are taken when the agent logs in (from logged_out or unknown);
-- later they must be empty or unchanged. Owner and session, when given, always
-- replace the stored ones (resume on another node). Allowed from logged_out,
-- not_ready, ready and wrap_up (ending wrap-up early); reserved and on_call agents
-- are refused. Ready again while ready changes nothing (keeps the idle time).
-- With gen (the takeover count its node got from reassert_agent), refused
-- (OWNED) when the stored gen is higher: another node owns the agent now.
-- Returns the new state.
begin()
local aid = id_at(2, 'agent:')
fixed(3, 'strategy')
local want = oneof(ARGV[3], {logged_out = true, not_ready = true, ready = true}, 'state')
local reason, owner, session, skills = ARGV[4] or '', ARGV[5] or '', ARGV[6] or '', ARGV[7] or ''
local a = load(KEYS[2]) or {calls = '0', talk_ms = '0', last_offer_ms = '0'}
if (ARGV[9] or '') ~= '' and tonumber(a.gen or '0') > int(ARGV[9], 'gen', 0) then
	fail('OWNED', 'agent ' .. aid .. ' is owned by ' .. tostring(a.owner) .. ' since gen ' .. a.gen)
end
a.state = a.state or 'logged_out'
local login = a.state == 'logged_out'
if a.state == 'reserved' or a.state == 'on_call' then fail('STATE', 'agent is ' .. a.state) end
if skills ~= '' and not login and skills ~= a.skills then fail('STATE', 'log out to change skills') end
if login and skills ~= '' then
	parse_skills(skills)
	a.skills = skills
	a.order = num(int(ARGV[8] ~= '' and ARGV[8] or '0', 'order', 0))
end
if not a.skills or a.skills == '' then fail('ARGS', 'skills are needed to log in') end
if owner ~= '' then a.owner = owner end
if (ARGV[10] or '') ~= '' then a.iv_ms = num(int(ARGV[10], 'iv_ms', 0)) end
if session ~= '' then a.session = session end
if not a.owner or a.owner == '' then fail('ARGS', 'owner is needed to log in') end
want_sets(4, 'ready:', skill_names(parse_skills(a.skills)))
if want == 'ready' then for _, s in ipairs(parse_skills(a.skills)) do strategy(s[1]) end end

redis.call('HSET', KEYS[2], 'owner', a.owner, 'session', a.session or '', 'skills', a.skills,
	'order', a.order or '0', 'calls', a.calls or '0', 'talk_ms', a.talk_ms or '0',
	'last_offer_ms', a.last_offer_ms or '0', 'wrap_until_ms', '', 'iv_ms', a.iv_ms or '0')
if want == 'ready' then
	if a.state ~= 'ready' then agent_to_ready(aid, a) end
elseif want == 'not_ready' then
	agent_to_not_ready(aid, a, reason)
else
	local clock = agent_time(aid, a)
	set_unready(aid, a)
	redis.call('HSET', KEYS[2], 'state', 'logged_out', 'reason', reason, 'call', '', clock[1], clock[2])
end
return want
