-- wrap_up_done: the agent's wrap-up is over (its timer, or the agent ended it).
-- KEYS: epoch, agent:<id>, strategy, ready:<skill>... (the agent's skills, in order)
-- ARGV: epoch, now_ms, next (ready|not_ready), reason
-- Returns the new state; a ready agent's node then runs route_agent.
-- Refused (STATE) when the agent is not in wrap_up (e.g. it went ready already).
begin()
local aid = id_at(2, 'agent:')
fixed(3, 'strategy')
local nxt = oneof(ARGV[3], AFTER, 'next')
local a = load(KEYS[2])
if not a then fail('NOTFOUND', 'agent ' .. aid) end
want_sets(4, 'ready:', skill_names(parse_skills(a.skills)))
if a.state ~= 'wrap_up' then fail('STATE', 'agent is ' .. a.state) end
redis.call('HSET', KEYS[2], 'wrap_until_ms', '')
if nxt == 'ready' then agent_to_ready(aid, a) else agent_to_not_ready(aid, a, ARGV[4] or '') end
return nxt
