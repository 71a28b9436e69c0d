-- estimated_wait: how long a queued call will still wait, from its position in
-- each of its queues and the answer rate of that skill over the last window.
-- KEYS: epoch, call:<id>, q:<skill>... (the call's skills, in order)
-- ARGV: epoch, now_ms, window_ms (at most one hour)
-- Derived: anscount:<skill> (answers per 10 s bucket, the last hour, by `answer`).
-- Per skill: (calls ahead + 1) / (answers in the window / window); the
-- estimate is the lowest over the skills with answers. Answers are counted
-- by 10 s bucket: the bucket the window starts in counts for the part of it
-- inside the window.
-- Returns {seconds, ahead}: seconds is -1 when no skill answered a call in the
-- window, ahead the fewest calls ahead in any of its queues; {0, 0} once the
-- call is offered. Refused (STATE) when the call is answered or over.

-- The answers of skill s from `since` (ms) to now.
local function answers_since(s, since)
	local first, last = math.floor(since / ANSWER_BUCKET_MS), math.floor(NOW / ANSWER_BUCKET_MS)
	local slots = {}
	for b = first, last do slots[#slots + 1] = num(b % ANSWER_SLOTS) end
	local got = redis.call('HMGET', key('anscount:', s), unpack(slots))
	local n = 0
	for i, v in ipairs(got) do
		local b = first + i - 1
		local part = 1
		if b == first then part = ((b + 1) * ANSWER_BUCKET_MS - since) / ANSWER_BUCKET_MS end
		n = n + bucket_count(b, v) * part
	end
	return n
end

begin()
local cid = id_at(2, 'call:')
local window = int(ARGV[3], 'window_ms', 1000, ANSWER_KEEP_MS)
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
local skills = split(c.skills)
want_sets(3, 'q:', skills)
if c.state == 'offered' then return {0, 0} end
if c.state ~= 'queued' then fail('STATE', 'call is ' .. c.state) end
local best, ahead
for _, s in ipairs(skills) do
	local rank = redis.call('ZRANK', key('q:', s), cid)
	if rank then
		ahead = math.min(ahead or rank, rank)
		local answers = answers_since(s, NOW - window)
		if answers > 0 then
			local secs = math.ceil((rank + 1) * window / answers / 1000)
			best = math.min(best or secs, secs)
		end
	end
end
return {best or -1, ahead or 0}
