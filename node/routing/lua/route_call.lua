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

-- Walks ready:<skill> best first; calls visit(agent, band, metric) for each
-- eligible agent until it returns true.
local function walk(skill, visit)
	local k, start = key('ready:', skill), 0
	while true do
		local r = redis.call('ZRANGE', k, start, start + 31, 'WITHSCORES')
		if #r == 0 then return end
		for i = 1, #r, 2 do
			local score = tonumber(r[i + 1])
			local band = math.floor(score / BAND)
			if eligible(r[i]) and visit(r[i], band, score - band * BAND) then return end
		end
		start = start + 32
	end
end

-- The agent a skill would pick: the first of the best band, or for
-- sequentially-by-agent-order the first after the last one offered.
local function pick(skill, st)
	local last = st.pick == 'next' and tonumber(redis.call('HGET', K.seq, skill) or '-1') or -1
	local first, found
	walk(skill, function(aid, band, metric)
		if not first then
			first = {aid, band}
			if st.pick ~= 'next' then return true end
		end
		if band ~= first[2] then return true end
		if metric > last then found = {aid, band}; return true end
	end)
	return found or first
end

local best
for i, s in ipairs(skills) do
	local st = strategy(s)
	local p = pick(s, st)
	if p and (not best or p[2] < best.band) then best = {aid = p[1], band = p[2], skill = s, st = st} end
end
if not best then return nil end

if best.st.pick == 'ring' then
	local alerted = split(c.alerted)
	local limit = best.st.ring == 'all' and math.huge or ring_n
	local n = 0
	walk(best.skill, function(aid)
		n = n + 1
		if not contains(alerted, aid) then
			alerted[#alerted + 1] = aid
			publish(redis.call('HGET', key('agent:', aid), 'owner'), {type = 'alert', call = cid, agent = aid,
				skill = best.skill, ani = c.ani, tier = c.tier, service = c.service, gateway = c.gateway})
		end
		return n >= limit
	end)
	redis.call('HSET', KEYS[2], 'alerted', table.concat(alerted, ','))
	local out = {'alert', cid, best.skill}
	for _, aid in ipairs(alerted) do out[#out + 1] = aid end
	return out
end
return reserve(cid, c, best.aid, load(key('agent:', best.aid)), best.skill, offer_ms)
