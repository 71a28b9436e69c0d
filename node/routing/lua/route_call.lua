-- route_call: a call arrived or overflowed; offer it to the best ready agent.
-- KEYS: epoch, call:<id>, strategy, seq, offers, ready:<skill>... (the call's skills, in order)
-- ARGV: epoch, now_ms, offer_ms, ring_n
-- Derived: presence:<agent> and agent:<agent> of the candidates; the chosen
-- agent's other ready sets; q:<skill> of the call; events:<node>.
-- The best agent: the best proficiency band over the call's skills, then the
-- call's skill order, then the skill's strategy. Agents without presence or
-- whose hash is not ready are passed over.
-- Returns nil when the call is not queued or no agent is ready;
-- {"offer", call, agent, skill, deadline_ms} after the reserve step; or, when the
-- chosen skill rings (ring-all: every ready agent of the skill, ring-progressively:
-- the first ring_n), {"alert", call, skill, agent...} with every agent alerted so
-- far, each new one told on its node's channel; they answer with `claim`.
begin()
local cid = id_at(2, 'call:')
fixed(3, 'strategy')
fixed(4, 'seq')
fixed(5, 'offers')
local offer_ms = int(ARGV[3], 'offer_ms', 1)
local ring_n = int(ARGV[4] or '1', 'ring_n', 1)
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
local skills = split(c.skills)
want_sets(6, 'ready:', skills)
if c.state ~= 'queued' then return nil end
return route_queued(cid, c, skills, offer_ms, ring_n)
