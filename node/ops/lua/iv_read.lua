-- iv_read: the interval hashes of the given starts, with every agent's time
-- in its present state counted up to now first (as a state change would
-- count it; counted_ms becomes now, state_ms stays when the state began).
-- The leader runs it to close an interval, any node to report the
-- intervals not closed yet.
-- KEYS: epoch, agent:<id>... (the agents to bring up to now: every account)
-- ARGV: epoch, now_ms, start_ms...
-- Derived: iv:<start> of every interval an agent's time spans; each
-- iv:<start> read gets IV_KEEP_MS to live.
-- Returns one array per start: the fields and values of iv:<start> as the
-- readers take them: a call's "c:<tier>:<skill>:<name>" counts given as
-- "t:<tier>:<name>" and "s:<skill>:<name>" (summed; the greatest of
-- max_wait_ms), their "offered" derived (answered + abandoned +
-- overflowed), every other field as stored.
begin()

local OUTCOMES = {answered = true, abandoned = true, overflowed = true}

-- The fields of one interval hash (HGETALL's pairs) as the readers take them.
local function expand(flat)
	local val, order = {}, {}
	local function put(f, v, greatest)
		local cur = val[f]
		if cur == nil then
			order[#order + 1] = f
			val[f] = v
		elseif greatest then
			if v > cur then val[f] = v end
		else
			val[f] = cur + v
		end
	end
	for i = 1, #flat, 2 do
		local f, v = flat[i], tonumber(flat[i + 1]) or 0
		local tier, skill, name = string.match(f, '^c:([^:]*):([^:]*):(.+)$')
		if tier then
			local greatest = name == 'max_wait_ms'
			put('t:' .. tier .. ':' .. name, v, greatest)
			put('s:' .. skill .. ':' .. name, v, greatest)
			if OUTCOMES[name] then
				put('t:' .. tier .. ':offered', v)
				put('s:' .. skill .. ':offered', v)
			end
		else
			put(f, v, string.sub(f, -12) == ':max_wait_ms')
		end
	end
	local out = {}
	for _, f in ipairs(order) do
		out[#out + 1] = f
		out[#out + 1] = num(val[f])
	end
	return out
end

for i = 2, #KEYS do
	local aid = id_at(i, 'agent:')
	local a = load(KEYS[i])
	local from = a and math.max(tonumber(a.state_ms or '') or NOW, tonumber(a.counted_ms or '') or 0)
	if a and AGENT_TIME[a.state or ''] and from < NOW then
		agent_count(aid, a)
		redis.call('HSET', KEYS[i], 'counted_ms', a.counted_ms)
	end
end
local out = {}
for i = 3, #ARGV do
	local k = key('iv:', num(int(ARGV[i], 'start_ms', 0)))
	out[#out + 1] = expand(redis.call('HGETALL', k))
	-- A hash read lives IV_KEEP_MS more (none where nobody reads: the
	-- leader's close reads every interval, the wallboard the open one).
	redis.call('PEXPIRE', k, IV_KEEP_MS)
end
return out
