-- Shared by the routing steps: node/routing/embed.sh puts the parts of this
-- text a step uses (each part a top-level `local` with the comment above it)
-- in front of the step's script, so the helpers below are locals of it.
--
-- Conventions (node/routing/README.md has the full contract):
--   KEYS[1] is `<prefix>epoch`; its prefix `kefu:<cluster>:` is the prefix of
--   every key. ARGV[1] is the caller's cluster epoch, ARGV[2] its clock in ms.
--   Refusals are error replies whose first word is a code: STALE, ARGS, KEYS,
--   NOTFOUND, STATE, EXPIRED, CONFIG. Every refusal happens before any write
--   except the epoch itself.

local P          -- key prefix, from KEYS[1]
local NOW        -- ARGV[2], the caller's clock in ms
local K = {}     -- named fixed keys of this step (strategy, seq, offers)
local BAND = 2 ^ 44          -- one proficiency step in a ready:<skill> score
-- Answer rates (estimated_wait): anscount:<skill> is a hash of SLOTS slots,
-- slot b % SLOTS holding "<b>:<answers>" for the 10 s bucket b = now // 10 s,
-- so a skill's answers of the last hour take at most SLOTS fields whatever
-- the call rate.
local ANSWER_KEEP_MS = 3600000
local ANSWER_BUCKET_MS = 10000
local ANSWER_SLOTS = ANSWER_KEEP_MS / ANSWER_BUCKET_MS + 1

-- The answers of bucket b as stored in `slot` (0 when it holds another bucket).
local function bucket_count(b, slot)
	local sb, n = string.match(slot or '', '^(%d+):(%d+)$')
	if tonumber(sb) ~= b then return 0 end
	return tonumber(n)
end

local function fail(code, text)
	error({err = code .. ' ' .. text})
end

local function num(n)
	return string.format('%.0f', n)
end

local function int(v, what, min, max)
	local n = tonumber(v)
	if not n or n ~= math.floor(n) or (min and n < min) or (max and n > max) then
		fail('ARGS', what .. ' is not an integer in range: ' .. tostring(v))
	end
	return n
end

local function oneof(v, set, what)
	if not set[v] then fail('ARGS', what .. ' is not allowed: ' .. tostring(v)) end
	return v
end

local function split(s)
	local t = {}
	for x in string.gmatch(s or '', '[^,]+') do t[#t + 1] = x end
	return t
end

local function contains(list, x)
	for _, v in ipairs(list) do if v == x then return true end end
	return false
end

-- The epoch fence: refuse an epoch below the stored one, raise the stored one.
local function begin()
	local ek = KEYS[1]
	if not ek or #ek < 5 or ek:sub(-5) ~= 'epoch' then fail('KEYS', 'KEYS[1] must be <prefix>epoch') end
	P = ek:sub(1, -6)
	local e = int(ARGV[1], 'epoch', 0)
	local cur = tonumber(redis.call('GET', ek) or '0')
	if e < cur then fail('STALE', 'epoch ' .. num(e) .. ' < ' .. num(cur)) end
	if e > cur then redis.call('SET', ek, num(e)) end
	NOW = int(ARGV[2], 'now_ms', 0)
end

-- KEYS[i] must be <prefix>name; it is remembered as K[name].
local function fixed(i, name)
	if KEYS[i] ~= P .. name then fail('KEYS', 'KEYS[' .. i .. '] must be ' .. P .. name) end
	K[name] = KEYS[i]
end

-- KEYS[i] must be <prefix><kind><id>; returns the id.
local function id_at(i, kind)
	local k = KEYS[i] or ''
	local head = P .. kind
	if k:sub(1, #head) ~= head or #k == #head then fail('KEYS', 'KEYS[' .. i .. '] must be ' .. head .. '<id>') end
	return k:sub(#head + 1)
end

-- KEYS[first..] name exactly the sets <kind><name> for names, in order.
local function want_sets(first, kind, names)
	if #KEYS - first + 1 ~= #names then
		fail('KEYS', 'expected ' .. #names .. ' ' .. kind .. ' keys from KEYS[' .. first .. ']')
	end
	for i, n in ipairs(names) do
		if KEYS[first + i - 1] ~= P .. kind .. n then fail('KEYS', 'KEYS[' .. (first + i - 1) .. '] must be ' .. P .. kind .. n) end
	end
end

-- The names the sets KEYS[first..last] (last: #KEYS when nil) stand for
-- (<prefix><kind><name>).
local function names_from(first, kind, last)
	local t = {}
	for i = first, last or #KEYS do t[#t + 1] = id_at(i, kind) end
	return t
end

local function key(kind, id) return P .. kind .. id end

-- A hash as a table, or nil when the key does not exist.
local function load(k)
	local flat = redis.call('HGETALL', k)
	if #flat == 0 then return nil end
	local t = {}
	for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
	return t
end

-- A call hash as a table, or nil when there is no call: a hash without a
-- state is a stray field (e.g. `verified` written after the call expired, or
-- on a new primary that missed the call) and counts as no call.
local function load_call(k)
	local c = load(k)
	if c and not c.state then return nil end
	return c
end

local function publish(node, msg)
	if node and node ~= '' then redis.call('PUBLISH', key('events:', node), cjson.encode(msg)) end
end

-- Adds by[field] to, and raises to hi[field] (optional), the fields of the
-- hash k (integers: num() rounds). HINCRBY per field costs Redis less than
-- one HMGET and one HSET of them all, parsed and formatted in Lua (about
-- 3.0 against 4.7 us for an abandon's four counts); a greatest value is
-- read and written only when it grows.
local function hash_add(k, by, hi)
	-- Nothing to add is not written (nor "-0", which HINCRBY refuses).
	for f, v in pairs(by) do
		if v ~= 0 then redis.call('HINCRBY', k, f, num(v)) end
	end
	for f, v in pairs(hi or {}) do
		if v > (tonumber(redis.call('HGET', k, f)) or 0) then redis.call('HSET', k, f, num(v)) end
	end
end

-- Counters of the call's tier and of the skill it is counted under: adds
-- by[field] to each field of both.
local function count(c, by)
	for _, k in ipairs({key('rt:', c.tier), key('rt:skill:', c.skill)}) do hash_add(k, by) end
end

---------------------------------------------------------------- interval statistics

-- Interval statistics (node/ops, docs/ops.md): every call's outcome and
-- every agent's time in a state go into the hash iv:<start> of the interval
-- they fall in (start: a multiple of the interval length iv_ms since the
-- epoch), fields "c:<tier>:<skill>:<name>" (a call's counts, once for its
-- tier and skill together) and "a:<agent>:<name>". A call's "offered" is
-- not written: it is answered + abandoned + overflowed. iv_read gives the
-- readers "t:<tier>:<name>" and "s:<skill>:<name>" (sums, the greatest for
-- max_wait_ms, offered derived), so the routing path writes half the fields.
-- A call carries its iv_ms from arrive, an agent from its login; 0 or none
-- counts nothing. The leader closes each interval into LMDB, keyed by its
-- start; iv_read, which every close and every report of an open interval
-- runs, gives each hash it reads IV_KEEP_MS to live, so the routing path
-- pays for no expiry of its own.
local IV_KEEP_MS = 2 * 86400000
-- A caller who hangs up within this is a short abandon.
local SHORT_ABANDON_MS = 10000
-- What an agent's time in each state counts as.
local AGENT_TIME = {ready = 'ready_ms', reserved = 'ring_ms', on_call = 'talk_ms', wrap_up = 'wrap_ms',
	not_ready = 'not_ready_ms'}

-- hash_add to the hash of the interval holding `at` (its expiry: iv_read).
local function iv_add(iv_ms, at, by, hi)
	hash_add(key('iv:', num(at - at % iv_ms)), by, hi)
end

-- The prefix of a call's fields in an interval hash: its tier and skill.
local function iv_prefix(tier, skill)
	return 'c:' .. (tier or '') .. ':' .. (skill or '') .. ':'
end

-- The call c leaves the queue now after `wait` ms: outcome answered (by
-- agent aid), abandoned or overflowed; or (ended) its talk of `wait` ms ended.
local function iv_call(c, outcome, wait, aid)
	local iv = tonumber(c.iv_ms)
	if not iv or iv <= 0 then return end
	local by, hi = {}, {}
	local sl = tonumber(c.sl_ms) or 0
	local p = iv_prefix(c.tier, c.skill)
	if outcome == 'ended' then
		by[p .. 'handled'] = 1
		by[p .. 'talk_ms'] = wait
	else
		by[p .. outcome] = 1
		hi[p .. 'max_wait_ms'] = wait
	end
	if outcome == 'answered' then
		by[p .. 'wait_ms'] = wait
		if wait <= sl then by[p .. 'answered_in_sl'] = 1 end
	elseif outcome == 'abandoned' then
		by[p .. 'abandon_wait_ms'] = wait
		if wait < SHORT_ABANDON_MS then by[p .. 'abandoned_short'] = 1 end
		if wait <= sl then by[p .. 'abandoned_in_sl'] = 1 end
	end
	if aid then by['a:' .. aid .. ':calls'] = 1 end
	iv_add(iv, NOW, by, hi)
end

-- The agent aid's (a as stored) time in its state up to now goes to each
-- interval it spans (wrap-up also to the tier and skill of its last call;
-- not ready also by reason): the time since state_ms, when the state began,
-- or since counted_ms when that is later (its time was counted up to then
-- without a state change: iv_read). a.counted_ms becomes now.
local function agent_count(aid, a)
	local iv, from, f = tonumber(a.iv_ms), tonumber(a.state_ms), AGENT_TIME[a.state or '']
	local counted = tonumber(a.counted_ms or '')
	if from and counted and counted > from then from = counted end
	if iv and iv > 0 and from and f then
		local t = math.max(from, NOW - IV_KEEP_MS)
		while t < NOW do
			local e = math.min(t - t % iv + iv, NOW)
			local by = {['a:' .. aid .. ':' .. f] = e - t}
			if a.state == 'not_ready' then by['a:' .. aid .. ':nr:' .. (a.reason or '')] = e - t end
			if a.state == 'wrap_up' and (a.last_tier or '') ~= '' then
				by[iv_prefix(a.last_tier, a.last_skill) .. 'wrap_ms'] = e - t
			end
			iv_add(iv, t, by)
			t = e
		end
	end
	a.counted_ms = num(NOW)
end

-- The agent aid (a as stored) leaves its state now: its time in it is
-- counted (agent_count). Returns the fields that restart its clock, for the
-- HSET that sets the new state: state_ms, since when it is in that state
-- (the live board shows it).
local function agent_time(aid, a)
	agent_count(aid, a)
	a.state_ms = num(NOW)
	return {'state_ms', a.state_ms}
end

---------------------------------------------------------------- agents

-- "skill:level,..." -> list of {skill, level}; levels 1..10.
local function parse_skills(s)
	local t = {}
	for _, item in ipairs(split(s)) do
		local name, level = item:match('^([^:]+):(%d+)$')
		if not name then fail('ARGS', 'skill is not name:level: ' .. item) end
		t[#t + 1] = {name, int(level, 'skill level', 1, 10)}
	end
	return t
end

local function skill_names(skills)
	local t = {}
	for i, s in ipairs(skills) do t[i] = s[1] end
	return t
end

-- The strategy table: metric = the agent field that breaks ties within a
-- proficiency band; pick = how route_call picks among the ready agents.
local STRATEGIES = {
	['longest-idle-agent']          = {metric = 'idle_since_ms', pick = 'first'},
	['agent-with-least-talk-time']  = {metric = 'talk_ms',       pick = 'first'},
	['agent-with-fewest-calls']     = {metric = 'calls',         pick = 'first'},
	['round-robin']                 = {metric = 'last_offer_ms', pick = 'first'},
	['top-down']                    = {metric = 'order',         pick = 'first'},
	['sequentially-by-agent-order'] = {metric = 'order',         pick = 'next'},
	['random']                      = {metric = 'rand',          pick = 'first'},
	['ring-all']                    = {metric = 'order',         pick = 'ring', ring = 'all'},
	['ring-progressively']          = {metric = 'order',         pick = 'ring', ring = 'n'},
}
local DEFAULT_STRATEGY = 'longest-idle-agent'

local function strategy(skill)
	local name = redis.call('HGET', K.strategy, skill) or DEFAULT_STRATEGY
	local st = STRATEGIES[name]
	if not st then fail('CONFIG', 'unknown strategy ' .. name .. ' for skill ' .. skill) end
	return st
end

-- Puts agent `a` (fields as stored, already in state ready) in the ready set of
-- each of its skills. Scores are computed before the first write.
local function set_ready(aid, a)
	local plan = {}
	for _, s in ipairs(parse_skills(a.skills)) do
		local metric = tonumber(a[strategy(s[1]).metric] or '0') or 0
		plan[#plan + 1] = {key('ready:', s[1]), (10 - s[2]) * BAND + metric}
	end
	for _, p in ipairs(plan) do redis.call('ZADD', p[1], num(p[2]), aid) end
end

local function set_unready(aid, a)
	for _, s in ipairs(parse_skills(a.skills)) do redis.call('ZREM', key('ready:', s[1]), aid) end
end

-- Moves a stored agent to ready: idle from now, a fresh random draw.
-- `extra` (optional): more field, value pairs written in the same HSET.
local function agent_to_ready(aid, a, extra)
	local clock = agent_time(aid, a)
	a.state, a.reason, a.call = 'ready', '', ''
	a.idle_since_ms = num(NOW)
	a.rand = num(tonumber(redis.sha1hex(aid .. ':' .. num(NOW)):sub(1, 8), 16))
	set_ready(aid, a)
	redis.call('HSET', key('agent:', aid), 'state', 'ready', 'reason', '', 'call', '',
		'idle_since_ms', a.idle_since_ms, 'rand', a.rand, clock[1], clock[2], unpack(extra or {}))
end

local function agent_to_not_ready(aid, a, reason, extra)
	local clock = agent_time(aid, a)
	set_unready(aid, a)
	redis.call('HSET', key('agent:', aid), 'state', 'not_ready', 'reason', reason, 'call', '',
		clock[1], clock[2], unpack(extra or {}))
end

-- An agent can be offered a call: its node refreshes its presence and it is ready.
local function eligible(aid)
	return redis.call('EXISTS', key('presence:', aid)) == 1
		and redis.call('HGET', key('agent:', aid), 'state') == 'ready'
end

---------------------------------------------------------------- calls

local function queue_call(cid, c)
	for _, s in ipairs(split(c.skills)) do redis.call('ZADD', key('q:', s), c.score, cid) end
end

-- A call held back by enqueue_call (c.held) is in no queue yet.
local function unqueue_call(cid, c)
	if c.held then return end
	for _, s in ipairs(split(c.skills)) do redis.call('ZREM', key('q:', s), cid) end
end

-- Tells every alerted agent but `except` that the call no longer rings.
local function end_alerts(cid, c, except)
	for _, aid in ipairs(split(c.alerted)) do
		if aid ~= except then
			publish(redis.call('HGET', key('agent:', aid), 'owner'),
				{type = 'alert_end', call = cid, agent = aid})
		end
	end
end

-- Ends a call for good: gone from every queue, alert and (when the step
-- names `offers`) offer; the hash stays keep_ms so reassert sees the end.
local function call_finish(cid, c, state, keep_ms, extra)
	unqueue_call(cid, c)
	end_alerts(cid, c, nil)
	if K.offers then redis.call('ZREM', K.offers, cid) end
	if c.menu == 'open' then redis.call('ZREM', key('held', ''), cid) end
	redis.call('HSET', key('call:', cid), 'state', state, 'ended_ms', num(NOW), 'alerted', '', unpack(extra))
	redis.call('PEXPIRE', key('call:', cid), keep_ms)
end

-- The atomic reserve step: a queued call and a ready agent become offered and
-- reserved together, both leave every queue and ready set, the offer joins
-- `offers` by deadline and is published to the agent's node.
local function reserve(cid, c, aid, a, skill, offer_ms)
	local deadline = num(NOW + offer_ms)
	local sequential = strategy(skill).pick == 'next'
	unqueue_call(cid, c)
	set_unready(aid, a)
	end_alerts(cid, c, aid)
	redis.call('HSET', key('call:', cid), 'state', 'offered', 'agent', aid, 'skill', skill,
		'offer_deadline_ms', deadline, 'alerted', '')
	local clock = agent_time(aid, a)
	-- The caller's number too: a session resumed on another node reads it
	-- back (login.c) for the verification and the bills of this call.
	redis.call('HSET', key('agent:', aid), 'state', 'reserved', 'reason', '', 'call', cid,
		'ani', c.ani or '', 'last_offer_ms', num(NOW), clock[1], clock[2])
	redis.call('ZADD', K.offers, deadline, cid)
	if sequential then redis.call('HSET', K.seq, skill, a.order or '0') end
	publish(a.owner, {type = 'offer', call = cid, agent = aid, skill = skill, deadline_ms = deadline,
		ani = c.ani, tier = c.tier, service = c.service, gateway = c.gateway, verified = c.verified})
	return {'offer', cid, aid, skill, deadline}
end

-- Undoes an offer: the call goes back to its queues with its original score
-- (its place), the agent goes `after` (ready or not_ready with reason).
local function return_offer(cid, c, after, reason, why)
	local aid = c.agent or ''
	local a = aid ~= '' and load(key('agent:', aid)) or nil
	if a and a.state == 'reserved' and a.call == cid then
		if after == 'ready' then agent_to_ready(aid, a) else agent_to_not_ready(aid, a, reason) end
		publish(a.owner, {type = 'offer_end', call = cid, agent = aid, why = why})
	end
	local first = split(c.skills)[1] or ''
	redis.call('HSET', key('call:', cid), 'state', 'queued', 'agent', '', 'offer_deadline_ms', '', 'skill', first)
	redis.call('ZREM', K.offers, cid)
	queue_call(cid, c)
	publish(c.owner, {type = 'requeued', call = cid, why = why})
end

local AFTER = {ready = true, not_ready = true}

---------------------------------------------------------------- arrivals and routing

-- Enqueue: the call KEYS[2] (id cid) joins the queue of each of skills with
-- ARGV[3..11] = arrived_ms, tier, weight_ms, sl_ms, owner, gateway, ani,
-- service, verified, and the interval length iv_ms (nil: not counted). A call that exists already is left as it is (a hash
-- without a state is no call: it is written over). Returns the call as
-- stored and whether it is new. With `hold`, a new call is not put in its
-- queues yet (c.held): the caller offers it first and queues it with
-- queue_call only if it stays queued, which spares the queue writes of a
-- call that finds an agent at once.
local function enqueue_call(cid, skills, hold, iv_ms)
	if #skills == 0 then fail('KEYS', 'a call needs at least one q:<skill>') end
	local arrived = int(ARGV[3], 'arrived_ms', 0)
	local tier = ARGV[4] or ''
	if tier == '' then fail('ARGS', 'tier is empty') end
	local weight = int(ARGV[5], 'weight_ms', 0)
	local sl = int(ARGV[6], 'sl_ms', 0)
	local owner = ARGV[7] or ''
	if owner == '' then fail('ARGS', 'owner is empty') end
	local c = load_call(KEYS[2])
	if c then return c, false end
	c = {state = 'queued', tier = tier, skill = skills[1], skills = table.concat(skills, ','),
		score = num(arrived - weight), owner = owner, gateway = ARGV[8] or '', ani = ARGV[9] or '',
		service = ARGV[10] or '', alerted = ''}
	local fields = {'state', 'queued', 'tier', tier, 'skills', c.skills, 'skill', c.skill,
		'arrived_ms', num(arrived), 'weight_ms', num(weight), 'sl_ms', num(sl), 'score', c.score,
		'owner', owner, 'gateway', c.gateway, 'ani', c.ani, 'service', c.service,
		'agent', '', 'alerted', ''}
	if iv_ms then
		c.iv_ms = num(iv_ms)
		fields[#fields + 1] = 'iv_ms'; fields[#fields + 1] = c.iv_ms
	end
	if (ARGV[11] or '') ~= '' then
		c.verified = ARGV[11]
		fields[#fields + 1] = 'verified'; fields[#fields + 1] = ARGV[11]
	end
	redis.call('HSET', KEYS[2], unpack(fields))
	if hold then c.held = true else queue_call(cid, c) end
	count(c, {offered = 1})
	return c, true
end

-- Walks ready:<skill> best first; calls visit(agent, band, metric) for each
-- eligible agent until it returns true.
local function walk_ready(skill, visit)
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
local function pick_ready(skill, st)
	local last = st.pick == 'next' and tonumber(redis.call('HGET', K.seq, skill) or '-1') or -1
	local first, found
	walk_ready(skill, function(aid, band, metric)
		if not first then
			first = {aid, band}
			if st.pick ~= 'next' then return true end
		end
		if band ~= first[2] then return true end
		if metric > last then found = {aid, band}; return true end
	end)
	return found or first
end

-- Offers the queued call cid (c as stored, skills its skills in order) to
-- the best ready agent: the reply of route_call (nil when no agent is ready).
-- Needs K.strategy, K.seq and K.offers.
local function route_queued(cid, c, skills, offer_ms, ring_n)
	local best
	for _, s in ipairs(skills) do
		local st = strategy(s)
		local p = pick_ready(s, st)
		if p and (not best or p[2] < best.band) then best = {aid = p[1], band = p[2], skill = s, st = st} end
	end
	if not best then return nil end
	if best.st.pick == 'ring' then
		local alerted = split(c.alerted)
		local limit = best.st.ring == 'all' and math.huge or ring_n
		local n = 0
		walk_ready(best.skill, function(aid)
			n = n + 1
			if not contains(alerted, aid) then
				alerted[#alerted + 1] = aid
				publish(redis.call('HGET', key('agent:', aid), 'owner'), {type = 'alert', call = cid, agent = aid,
					skill = best.skill, ani = c.ani, tier = c.tier, service = c.service, gateway = c.gateway,
					verified = c.verified})
			end
			return n >= limit
		end)
		redis.call('HSET', key('call:', cid), 'alerted', table.concat(alerted, ','))
		local out = {'alert', cid, best.skill}
		for _, aid in ipairs(alerted) do out[#out + 1] = aid end
		return out
	end
	return reserve(cid, c, best.aid, load(key('agent:', best.aid)), best.skill, offer_ms)
end

-- KEYS of a step that queues and routes a call (arrive, menu): 3..5 are
-- strategy, seq and offers, then q:<skill>... and as many ready:<skill>...
-- (the call's skills, preferred first). Returns the skills.
local function queue_keys()
	fixed(3, 'strategy')
	fixed(4, 'seq')
	fixed(5, 'offers')
	local n = (#KEYS - 5) / 2
	if n < 1 or n ~= math.floor(n) then fail('KEYS', 'expected as many ready:<skill> keys as q:<skill> keys') end
	local skills = names_from(6, 'q:', 5 + n)
	want_sets(6 + n, 'ready:', skills)
	return skills
end

-- Offers the queued call cid (c as stored; c.held: in no queue yet) to the
-- best ready agent of skills and queues a held one that stays queued.
-- Returns {state, score} followed by route_call's reply when it made one.
local function route_arrived(cid, c, skills, offer_ms, ring_n)
	local routed = route_queued(cid, c, skills, offer_ms, ring_n)
	if c.held and not (routed and routed[1] == 'offer') then
		c.held = nil
		queue_call(cid, c)
	end
	if not routed then return {c.state, c.score} end
	local out = {routed[1] == 'offer' and 'offered' or 'queued', c.score}
	for _, v in ipairs(routed) do out[#out + 1] = v end
	return out
end

-- The first call of q:<skill> that is really queued, dropping stale entries.
local function queue_head(skill)
	local k = key('q:', skill)
	for _ = 1, 100 do
		local r = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
		if #r == 0 then return nil end
		if redis.call('HGET', key('call:', r[1]), 'state') == 'queued' then return r[1], tonumber(r[2]) end
		redis.call('ZREM', k, r[1])
	end
	return nil
end

-- Offers the ready agent aid (a as stored, skills its skill names in order)
-- the best queued call: the reply of route_agent (nil when none waits or the
-- agent is not ready). Needs K.strategy, K.seq and K.offers.
local function route_ready_agent(aid, a, skills, offer_ms)
	if a.state ~= 'ready' then return nil end
	local best
	for _, s in ipairs(skills) do
		local cid, score = queue_head(s)
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
				ani = c.ani, tier = c.tier, service = c.service, gateway = c.gateway, verified = c.verified})
		end
		return {'alert', best.cid, best.skill, aid}
	end
	return reserve(best.cid, c, aid, a, best.skill, offer_ms)
end
