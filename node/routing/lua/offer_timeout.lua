-- offer_timeout: the sweep of `offers`; every offer past its deadline goes back.
-- KEYS: epoch, offers, strategy
-- ARGV: epoch, now_ms, after (ready|not_ready), reason (e.g. no-answer), limit
-- Derived: call:<id> and agent:<id> of each expired offer, their queues and
-- ready sets, events:<node>.
-- An offer expires once now_ms is past its deadline (answer takes it up to
-- and including the deadline). Each expired call goes back to its queues with its original score; its agent
-- goes `after`. At most `limit` offers per run; any node may run it.
-- Returns the ids of the calls put back.
begin()
fixed(2, 'offers')
fixed(3, 'strategy')
local after = oneof(ARGV[3], AFTER, 'after')
local reason = ARGV[4] or 'no-answer'
local limit = int(ARGV[5], 'limit', 1)
local out = {}
for _, cid in ipairs(redis.call('ZRANGEBYSCORE', K.offers, '-inf', '(' .. num(NOW), 'LIMIT', 0, limit)) do
	local c = load_call(key('call:', cid))
	if c and c.state == 'offered' then
		return_offer(cid, c, after, reason, 'timeout')
		out[#out + 1] = cid
	else
		redis.call('ZREM', K.offers, cid)
	end
end
return out
