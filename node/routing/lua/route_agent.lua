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
if a.state ~= 'ready' then return nil end

-- The first call of q:<skill> that is really queued, dropping stale entries.
local function head(skill)
	local k = key('q:', skill)
	for _ = 1, 100 do
		local r = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
		if #r == 0 then return nil end
		if redis.call('HGET', key('call:', r[1]), 'state') == 'queued' then return r[1], tonumber(r[2]) end
		redis.call('ZREM', k, r[1])
	end
	return nil
end

local best
for _, s in ipairs(skills) do
	local cid, score = head(s)
	if cid and (not best or score < best.score) then best = {cid = cid, score = score, skill = s} end
end
if not best then return nil end
local c = load_call(key('call:', best.cid))
if strategy(best.skill).pick == 'ring' then
	local alerted = split(c.alerted)
	if not contains(alerted, aid) then
		alerted[#alerted + 1] = aid
		redis.call('HSET', key('call:', best.cid), 'alerted', table.concat(alerted, ','))
		publish(a.owner, {type = 'alert', call = best.cid, agent = aid, skill = best.skill,
			ani = c.ani, tier = c.tier, service = c.service, gateway = c.gateway})
	end
	return {'alert', best.cid, best.skill, aid}
end
return reserve(best.cid, c, aid, a, best.skill, offer_ms)
