-- reassert_agent: after a Redis failover (or a resume on another node) the
-- agent's node writes the agent again; idempotent, never moving it back.
-- KEYS: epoch, agent:<id>, strategy, ready:<skill>... (the agent's skills, in order)
-- ARGV: epoch, now_ms, state, reason, owner, session, skills ("skill:level,..."),
--       order, call, wrap_until_ms, mode (take|keep; default take), gen,
--       [iv_ms] (interval statistics, as agent_state)
-- Derived: call:<id> of the agent's call, ready:<skill> of its former skills.
-- Redis is kept when it holds the agent reserved or on_call and that call still
-- says so (an offer the node has not heard of yet), unless the node has the same
-- call answered. A reserved or on_call view is taken when its call agrees or is
-- missing (reserved becomes on_call when the call is answered); when the call
-- says otherwise (ended, another agent) Redis is kept, or for an agent Redis
-- lost, not_ready with reason "reassert". Owner, session, skills and order
-- are always the node's. A ready agent stays idle since when it was.
-- Ownership: `gen` in the hash counts the takeovers. A login or resume
-- (mode take) makes the node the owner with gen + 1; a re-assert after a
-- failover (mode keep) carries the gen the node got and is refused (OWNED)
-- when the stored gen is higher: another node took the agent since. When
-- the owner changes, the previous owner is told (event owner_moved with
-- the new gen) so that it drops the agent.
-- Returns {state afterwards, gen}.
begin()
local aid = id_at(2, 'agent:')
fixed(3, 'strategy')
local BOUND = {reserved = 'offered', on_call = 'answered'}
local want = oneof(ARGV[3], {logged_out = true, not_ready = true, ready = true, reserved = true,
	on_call = true, wrap_up = true}, 'state')
local reason, owner, skills = ARGV[4] or '', ARGV[5] or '', ARGV[7] or ''
if owner == '' then fail('ARGS', 'owner is empty') end
want_sets(4, 'ready:', skill_names(parse_skills(skills)))
local cid = ARGV[9] or ''
if BOUND[want] and cid == '' then fail('ARGS', want .. ' needs its call') end
local order = num(int(ARGV[8] ~= '' and ARGV[8] or '0', 'order', 0))
local wrap_until = want == 'wrap_up' and num(int(ARGV[10], 'wrap_until_ms', 0)) or ''

-- What the call cid says about this agent: its state, 'missing' or 'other'.
local function call_says(id)
	local c = id ~= '' and load_call(key('call:', id)) or nil
	if not c then return 'missing' end
	if c.agent ~= aid then return 'other' end
	return c.state
end

local mode = oneof(ARGV[11] ~= nil and ARGV[11] ~= '' and ARGV[11] or 'take', {take = true, keep = true}, 'mode')
local a = load(KEYS[2])
local had_gen = a and tonumber(a.gen or '0') or 0
local gen = int(ARGV[12] ~= nil and ARGV[12] ~= '' and ARGV[12] or '0', 'gen', 0)
if mode == 'keep' and had_gen > gen then
	fail('OWNED', 'agent ' .. aid .. ' is owned by ' .. tostring(a.owner) .. ' since gen ' .. num(had_gen))
end
gen = mode == 'take' and had_gen + 1 or math.max(had_gen, gen)
local was_owner = a and a.owner or ''
local keep = a and BOUND[a.state] and call_says(a.call) == BOUND[a.state]
	and not (want == 'on_call' and a.state == 'reserved' and cid == a.call)
if not keep and BOUND[want] then
	local says = call_says(cid)
	if says == 'answered' then
		want = 'on_call'
	elseif says ~= 'missing' and says ~= BOUND[want] and not (want == 'on_call' and says == 'offered') then
		if a and a.state ~= 'logged_out' then keep = true else want, reason = 'not_ready', 'reassert' end
	end
end

if a and a.skills and a.skills ~= skills then set_unready(aid, a) end
local was_ready = a and a.state == 'ready' and a.skills == skills
a = a or {}
a.skills, a.owner = skills, owner
redis.call('HSET', KEYS[2], 'owner', owner, 'session', ARGV[6] or '', 'skills', skills,
	'order', order, 'gen', num(gen))
if (ARGV[13] or '') ~= '' then redis.call('HSET', KEYS[2], 'iv_ms', num(int(ARGV[13], 'iv_ms', 0))) end
if was_owner ~= '' and was_owner ~= owner then
	publish(was_owner, {type = 'owner_moved', agent = aid, owner = owner, gen = gen})
end
for _, f in ipairs({'calls', 'talk_ms', 'last_offer_ms'}) do redis.call('HSETNX', KEYS[2], f, '0') end
a = load(KEYS[2])
if keep then return {a.state, num(gen)} end
if want == 'ready' then
	if was_ready then set_ready(aid, a) else agent_to_ready(aid, a) end
elseif want == 'not_ready' or want == 'logged_out' then
	agent_to_not_ready(aid, a, reason)
	redis.call('HSET', KEYS[2], 'state', want)
else
	local clock = agent_time(aid, a)
	set_unready(aid, a)
	redis.call('HSET', KEYS[2], 'state', want, 'reason', '', 'call', want == 'wrap_up' and '' or cid,
		'wrap_until_ms', wrap_until, clock[1], clock[2])
end
return {want, num(gen)}
