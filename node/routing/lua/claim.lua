-- claim: an alerted agent accepts a ringing call (ring-all, ring-progressively);
-- the first claim wins through the same reserve step as route_call.
-- KEYS: epoch, call:<id>, agent:<id>, strategy, seq, offers
-- ARGV: epoch, now_ms, offer_ms
-- Returns {"offer", call, agent, skill, deadline_ms} to the winner (its node then
-- calls `answer`), nil when the call is no longer queued (another claim won, or
-- the caller left). Refused (STATE) when the agent is not ready or was not alerted.
begin()
local cid = id_at(2, 'call:')
local aid = id_at(3, 'agent:')
fixed(4, 'strategy')
fixed(5, 'seq')
fixed(6, 'offers')
local offer_ms = int(ARGV[3], 'offer_ms', 1)
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
local a = load(KEYS[3])
if not a then fail('NOTFOUND', 'agent ' .. aid) end
if c.state ~= 'queued' then return nil end
if a.state ~= 'ready' then fail('STATE', 'agent is ' .. a.state) end
if not contains(split(c.alerted), aid) then fail('STATE', 'agent was not alerted for this call') end
local mine = skill_names(parse_skills(a.skills))
for _, s in ipairs(split(c.skills)) do
	if contains(mine, s) then return reserve(cid, c, aid, a, s, offer_ms) end
end
fail('STATE', 'agent has none of the call skills')
