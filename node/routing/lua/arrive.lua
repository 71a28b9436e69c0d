-- arrive: a call arrived; it joins its queues and is offered at once to the
-- best ready agent, in one step: enqueue followed by route_call.
-- KEYS: epoch, call:<id>, strategy, seq, offers, q:<skill>..., ready:<skill>...
--       (the call's skills, preferred first, once as queues, then as ready sets)
-- ARGV: epoch, now_ms, arrived_ms, tier, weight_ms, sl_ms, owner, gateway, ani, service,
--       verified, offer_ms, ring_n, [iv_ms] (interval statistics; 0 or none: off)
-- Derived: as enqueue and route_call.
-- Idempotent by call id as enqueue: a call that exists already is left as it
-- is, and routed when it is still queued with the same skills (a retry after
-- a lost reply).
-- Returns {state, score} followed by route_call's reply when it made one:
-- {"offered", score, "offer", call, agent, skill, deadline_ms}, or
-- {"queued", score, "alert", call, skill, agent...}.
begin()
local cid = id_at(2, 'call:')
fixed(3, 'strategy')
fixed(4, 'seq')
fixed(5, 'offers')
local n = (#KEYS - 5) / 2
if n < 1 or n ~= math.floor(n) then fail('KEYS', 'expected as many ready:<skill> keys as q:<skill> keys') end
local skills = names_from(6, 'q:', 5 + n)
want_sets(6 + n, 'ready:', skills)
local offer_ms = int(ARGV[12], 'offer_ms', 1)
local ring_n = int(ARGV[13] or '1', 'ring_n', 1)
local iv_ms = int(ARGV[14] ~= nil and ARGV[14] ~= '' and ARGV[14] or '0', 'iv_ms', 0)
local c = enqueue_call(cid, skills, true, iv_ms)
if c.state ~= 'queued' or c.skills ~= table.concat(skills, ',') then return {c.state, c.score} end
local routed = route_queued(cid, c, skills, offer_ms, ring_n)
if c.held and not (routed and routed[1] == 'offer') then
	c.held = nil
	queue_call(cid, c)
end
if not routed then return {c.state, c.score} end
local out = {routed[1] == 'offer' and 'offered' or 'queued', c.score}
for _, v in ipairs(routed) do out[#out + 1] = v end
return out
