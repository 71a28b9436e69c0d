-- route_agent: an agent became ready; offer it the best queued call.
-- KEYS: epoch, agent:<id>, strategy, seq, offers, q:<skill>... (the agent's skills, in order)
-- ARGV: epoch, now_ms, offer_ms
-- Derived: call:<id> of the heads of the queues; the chosen call's other
-- queues; events:<node>.
-- The best call: the lowest score at the head of the agent's queues (ties: the
-- agent's skill order). A queue entry whose call is no longer queued is dropped.
-- Returns nil when the agent is not ready or no call waits;
-- {"offer", call, agent, skill, deadline_ms} after the reserve step; or, when the
-- call's skill rings, {"alert", call, skill, agent} (the agent is alerted and may
-- `claim` the call).
begin()
local aid = id_at(2, 'agent:')
fixed(3, 'strategy')
fixed(4, 'seq')
fixed(5, 'offers')
local offer_ms = int(ARGV[3], 'offer_ms', 1)
local a = load(KEYS[2])
if not a then fail('NOTFOUND', 'agent ' .. aid) end
local skills = skill_names(parse_skills(a.skills))
want_sets(6, 'q:', skills)
return route_ready_agent(aid, a, skills, offer_ms)
