-- arrive: a call arrived; it joins its queues and is offered at once to the
-- best ready agent, in one step: enqueue followed by route_call.
-- KEYS: epoch, call:<id>, strategy, seq, offers, q:<skill>..., ready:<skill>...
--       (the call's skills, preferred first, once as queues, then as ready sets)
-- ARGV: epoch, now_ms, arrived_ms, tier, weight_ms, sl_ms, owner, gateway, ani, service,
--       verified, offer_ms, ring_n, [iv_ms] (interval statistics; 0 or none: off),
--       [hold_ms] (the caller's tier has an IVR menu; '' or none: it has not)
-- Derived: as enqueue and route_call; held (a held call).
-- With hold_ms a new call is written but held: in no queue and offered to
-- nobody, its `menu` field "open", until the menu step queues it where the
-- caller chose (or in these skills when no choice came). A retry leaves it so.
-- A held call is in no queue; it is listed in `held` (by arrival) for
-- lost_calls, and its hash expires after hold_ms unless the menu step
-- (which makes it lasting) comes first.
-- Idempotent by call id as enqueue: a call that exists already is left as it
-- is, and routed when it is still queued with the same skills (a retry after
-- a lost reply).
-- Returns {state, score} followed by route_call's reply when it made one:
-- {"offered", score, "offer", call, agent, skill, deadline_ms}, or
-- {"queued", score, "alert", call, skill, agent...}.
begin()
local cid = id_at(2, 'call:')
local skills = queue_keys()
local offer_ms = int(ARGV[12], 'offer_ms', 1)
local ring_n = int(ARGV[13] or '1', 'ring_n', 1)
local iv_ms = int(ARGV[14] ~= nil and ARGV[14] ~= '' and ARGV[14] or '0', 'iv_ms', 0)
local c, new = enqueue_call(cid, skills, true, iv_ms)
local hold_ms = int(ARGV[15] ~= nil and ARGV[15] ~= '' and ARGV[15] or '0', 'hold_ms', 0)
if new and hold_ms > 0 then
	c.menu = 'open'
	redis.call('HSET', KEYS[2], 'menu', 'open')
	redis.call('PEXPIRE', KEYS[2], hold_ms)
	redis.call('ZADD', key('held', ''), ARGV[3], cid)
end
if c.menu == 'open' then return {c.state, c.score} end
if c.state ~= 'queued' or c.skills ~= table.concat(skills, ',') then return {c.state, c.score} end
return route_arrived(cid, c, skills, offer_ms, ring_n)
