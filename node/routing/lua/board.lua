-- board: the live board (node/board.h) in one read: the calls waiting per
-- skill queue and per tier, and every agent that is not logged out.
-- KEYS: epoch, q:<skill>... (nqueues of them), agent:<id>... (the agents to
--       look at: every account)
-- ARGV: epoch, now_ms, nqueues
-- Derived: call:<id> of every entry of those queues.
-- A call counts when its hash says queued (an entry left behind by a call
-- offered or ended meanwhile does not); a call in several queues counts in
-- each of them and once for its tier. Nothing is written (the epoch aside).
-- Returns {skills, tiers, agents}: skills is {skill, waiting, oldest_ms}...
-- in KEYS order; tiers the same per tier of the calls waiting, ordered by
-- tier (a tier without calls is absent); oldest_ms is the arrived_ms of the
-- longest-waiting call, 0 when none; agents is {id, state, reason,
-- state_ms, calls, skills}... in KEYS order, for each agent whose state is
-- neither absent nor logged_out (missing fields as "", numbers as "0").
begin()
local nq = int(ARGV[3], 'nqueues', 0, #KEYS - 1)
local skills = names_from(2, 'q:', 1 + nq)

local calls = {}        -- id -> {tier, arrived} of a queued call; false when not queued
local function call_of(cid)
	if calls[cid] == nil then
		local f = redis.call('HMGET', key('call:', cid), 'state', 'tier', 'arrived_ms')
		calls[cid] = f[1] == 'queued' and {f[2] or '', tonumber(f[3]) or 0} or false
	end
	return calls[cid]
end

local function oldest(cur, at)
	if at > 0 and (cur == 0 or at < cur) then return at end
	return cur
end

local out_skills, tiers, seen = {}, {}, {}
for _, s in ipairs(skills) do
	local n, first = 0, 0
	for _, cid in ipairs(redis.call('ZRANGE', key('q:', s), 0, -1)) do
		local c = call_of(cid)
		if c then
			n = n + 1
			first = oldest(first, c[2])
			if not seen[cid] then
				seen[cid] = true
				local t = tiers[c[1]] or {0, 0}
				tiers[c[1]] = {t[1] + 1, oldest(t[2], c[2])}
			end
		end
	end
	out_skills[#out_skills + 1] = s
	out_skills[#out_skills + 1] = num(n)
	out_skills[#out_skills + 1] = num(first)
end

local names = {}
for t in pairs(tiers) do names[#names + 1] = t end
table.sort(names)
local out_tiers = {}
for _, t in ipairs(names) do
	out_tiers[#out_tiers + 1] = t
	out_tiers[#out_tiers + 1] = num(tiers[t][1])
	out_tiers[#out_tiers + 1] = num(tiers[t][2])
end

local out_agents = {}
for i = 2 + nq, #KEYS do
	local aid = id_at(i, 'agent:')
	local f = redis.call('HMGET', KEYS[i], 'state', 'reason', 'state_ms', 'calls', 'skills')
	if f[1] and f[1] ~= '' and f[1] ~= 'logged_out' then
		out_agents[#out_agents + 1] = aid
		out_agents[#out_agents + 1] = f[1]
		out_agents[#out_agents + 1] = f[2] or ''
		out_agents[#out_agents + 1] = f[3] or '0'
		out_agents[#out_agents + 1] = f[4] or '0'
		out_agents[#out_agents + 1] = f[5] or ''
	end
end
return {out_skills, out_tiers, out_agents}
