-- lost_calls: the sweep for calls whose node is gone with its gateway. Run by
-- every node every few seconds; it also records that the running node is alive.
-- KEYS: epoch, strategy, offers, nodes, q:<skill>... (the queues to look at)
-- ARGV: epoch, now_ms, self, grace_ms, keep_ms, limit
-- Derived: call:<id> of the first `limit` calls of each queue and of `held`
-- (the calls held for their IVR menu, in no queue, oldest first), rt:<tier>,
-- rt:skill:<skill> (abandoned), iv:<interval>, events:<node> of alerted agents.
-- `nodes` (hash: node -> when it last ran this step) gets self = now_ms; an
-- owner missing there is entered with now_ms (its grace starts). A
-- queued call of another node is lost when that node has not run this step
-- for grace_ms (it is gone, and so is its lease) and its gateway did not
-- resume it elsewhere (a GatewayResume makes the resuming node the owner). A
-- lost call ends as abandoned with outcome `gateway-lost`, as if the caller
-- hung up; a held call the same. `held` loses the calls that left their
-- menu or expired. (The owner itself ends the calls of a gateway that left it:
-- abandon with an owner.)
-- Returns the ids of the calls ended.
begin()
fixed(2, 'strategy')
fixed(3, 'offers')
fixed(4, 'nodes')
local self = ARGV[3] or ''
if self == '' then fail('ARGS', 'self is empty') end
local grace = int(ARGV[4], 'grace_ms', 1)
local keep = int(ARGV[5], 'keep_ms', 1)
local limit = int(ARGV[6], 'limit', 1)
local queues = names_from(5, 'q:')
redis.call('HSET', K.nodes, self, num(NOW))

local seen, out = {}, {}
local function node_lost(node)
	if seen[node] == nil then
		seen[node] = tonumber(redis.call('HGET', K.nodes, node) or '')
		-- Not heard of (e.g. a new primary missed it): its clock starts now.
		if not seen[node] then seen[node] = NOW; redis.call('HSET', K.nodes, node, num(NOW)) end
	end
	return NOW - seen[node] > grace
end
local function lost(cid, c)
	if c.state == 'queued' and c.owner ~= self and node_lost(c.owner or '') then
		call_finish(cid, c, 'abandoned', keep, {'agent', '', 'outcome', 'gateway-lost'})
		count(c, {abandoned = 1})
		iv_call(c, 'abandoned', NOW - tonumber(c.arrived_ms))
		out[#out + 1] = cid
	end
end
for _, q in ipairs(queues) do
	for _, cid in ipairs(redis.call('ZRANGE', key('q:', q), 0, limit - 1)) do
		local c = load_call(key('call:', cid))
		if c then lost(cid, c) end
	end
end
local held = key('held', '')
for _, cid in ipairs(redis.call('ZRANGE', held, 0, limit - 1)) do
	local c = load_call(key('call:', cid))
	if c and c.menu == 'open' then lost(cid, c) else redis.call('ZREM', held, cid) end
end
return out
