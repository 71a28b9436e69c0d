-- wrap_up_done: the agent's wrap-up is over (its timer, or the agent ended it).
-- KEYS: epoch, agent:<id>, strategy, ready:<skill>... (the agent's skills, in order)
--       [, seq, offers, q:<skill>... (the same skills) when offer_ms is given]
-- ARGV: epoch, now_ms, next (ready|not_ready), reason [, offer_ms]
-- Without offer_ms: returns the new state; a ready agent's node then runs
-- route_agent. With offer_ms: an agent that goes ready is routed in the same
-- step (route_agent's work, saving the node a round trip while a call
-- waits), and the reply is {new state} followed by route_agent's reply when
-- it made one.
-- Refused (STATE) when the agent is not in wrap_up (e.g. it went ready already).
begin()
local aid = id_at(2, 'agent:')
fixed(3, 'strategy')
local nxt = oneof(ARGV[3], AFTER, 'next')
local offer_ms = ARGV[5] ~= nil and ARGV[5] ~= '' and int(ARGV[5], 'offer_ms', 1) or nil
local a = load(KEYS[2])
if not a then fail('NOTFOUND', 'agent ' .. aid) end
local skills = skill_names(parse_skills(a.skills))
if offer_ms then
	local n = #skills
	for i, s in ipairs(skills) do
		if KEYS[3 + i] ~= P .. 'ready:' .. s then fail('KEYS', 'KEYS[' .. (3 + i) .. '] must be ' .. P .. 'ready:' .. s) end
	end
	fixed(4 + n, 'seq')
	fixed(5 + n, 'offers')
	want_sets(6 + n, 'q:', skills)
else
	want_sets(4, 'ready:', skills)
end
if a.state ~= 'wrap_up' then fail('STATE', 'agent is ' .. a.state) end
local done = {'wrap_until_ms', ''}
if nxt == 'ready' then agent_to_ready(aid, a, done) else agent_to_not_ready(aid, a, ARGV[4] or '', done) end
if not offer_ms then return nxt end
local out = {nxt}
for _, v in ipairs(nxt == 'ready' and route_ready_agent(aid, a, skills, offer_ms) or {}) do out[#out + 1] = v end
return out
