-- iv_read: the interval hashes of the given starts, with every agent's time
-- in its present state counted up to now first (as a state change would
-- count it; the agent's clock restarts now). The leader runs it to close an
-- interval, any node to report the intervals not closed yet.
-- KEYS: epoch, agent:<id>... (the agents to bring up to now: every account)
-- ARGV: epoch, now_ms, start_ms...
-- Derived: iv:<start> of every interval an agent's time spans.
-- Returns one array per start: the fields and values of iv:<start> (HGETALL).
begin()
for i = 2, #KEYS do
	local aid = id_at(i, 'agent:')
	local a = load(KEYS[i])
	if a and AGENT_TIME[a.state or ''] and tonumber(a.state_ms or '') and tonumber(a.state_ms) < NOW then
		local clock = agent_time(aid, a)
		redis.call('HSET', KEYS[i], clock[1], clock[2])
	end
end
local out = {}
for i = 3, #ARGV do
	out[#out + 1] = redis.call('HGETALL', key('iv:', num(int(ARGV[i], 'start_ms', 0))))
end
return out
