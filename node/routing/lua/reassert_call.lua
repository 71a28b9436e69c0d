-- reassert_call: after a Redis failover the node that owns a live call writes
-- it again; idempotent, and it never moves a call back (ranks: queued <
-- offered < answered < ended, abandoned, overflowed).
-- KEYS: epoch, call:<id>, offers, q:<skill>... (the call's skills as the node knows them)
-- ARGV: epoch, now_ms, state (queued|offered|answered), arrived_ms, tier, weight_ms,
--       sl_ms, owner, gateway, ani, service, agent, offer_deadline_ms, answered_ms,
--       mode (take|keep; default take), gen, [iv_ms] (interval statistics, as arrive)
-- When Redis holds the same or a later state it is kept: the call moves to the
-- asserting node (owner, gateway), gains the node's skills, and a queued call is
-- put back in all its queues (an offered one in `offers`), restoring writes the
-- new primary missed. When Redis holds an earlier state or nothing, the node's
-- view is written (score = arrived_ms - weight_ms). Counters are not touched.
-- Ownership, as for agents (reassert_agent): `gen` in the hash counts the
-- takeovers. A GatewayResume (mode take) makes the node the owner with gen + 1;
-- a re-assert after a failover (mode keep) carries the gen the node got and is
-- refused (OWNED) when the stored gen is higher: the gateway resumed elsewhere
-- since. When the owner changes, the previous owner is told (event owner_moved
-- with the call and the new gen) so that it drops the call. An ended call is
-- left as it is, owner and gen included.
-- Returns {state afterwards, gen}.
begin()
local cid = id_at(2, 'call:')
fixed(3, 'offers')
local RANK = {queued = 1, offered = 2, answered = 3, ended = 4, abandoned = 4, overflowed = 4}
local want = oneof(ARGV[3], {queued = true, offered = true, answered = true}, 'state')
local skills = names_from(4, 'q:')
if #skills == 0 then fail('KEYS', 'a call needs at least one q:<skill>') end
local arrived = int(ARGV[4], 'arrived_ms', 0)
local weight = int(ARGV[6], 'weight_ms', 0)
local owner, gateway = ARGV[8] or '', ARGV[9] or ''
if owner == '' then fail('ARGS', 'owner is empty') end
local agent = ARGV[12] or ''
if want ~= 'queued' and agent == '' then fail('ARGS', 'an offered or answered call needs its agent') end
local deadline = want == 'offered' and int(ARGV[13], 'offer_deadline_ms', 0) or nil
local answered = want == 'answered' and int(ARGV[14], 'answered_ms', 0) or nil
local mode = oneof(ARGV[15] ~= nil and ARGV[15] ~= '' and ARGV[15] or 'take', {take = true, keep = true}, 'mode')
local gen = int(ARGV[16] ~= nil and ARGV[16] ~= '' and ARGV[16] or '0', 'gen', 0)

local c = load_call(KEYS[2])
local had_gen = c and tonumber(c.gen or '0') or 0
if mode == 'keep' and had_gen > gen then
	fail('OWNED', 'call ' .. cid .. ' is owned by ' .. tostring(c.owner) .. ' since gen ' .. num(had_gen))
end
if c and RANK[c.state] == 4 then return {c.state, num(had_gen)} end
gen = mode == 'take' and had_gen + 1 or math.max(had_gen, gen)
if c and c.owner and c.owner ~= '' and c.owner ~= owner then
	publish(c.owner, {type = 'owner_moved', call = cid, owner = owner, gen = gen})
end
if c and RANK[c.state] >= RANK[want] then
	local have = split(c.skills)
	for _, s in ipairs(skills) do if not contains(have, s) then have[#have + 1] = s end end
	c.skills = table.concat(have, ',')
	redis.call('HSET', KEYS[2], 'owner', owner, 'gateway', gateway, 'skills', c.skills, 'gen', num(gen))
	if c.state == 'queued' then queue_call(cid, c) end
	if c.state == 'offered' then redis.call('ZADD', K.offers, c.offer_deadline_ms, cid) end
	return {c.state, num(gen)}
end
if c and c.state == 'queued' then unqueue_call(cid, c) end
local n = {skills = table.concat(skills, ','), score = num(arrived - weight)}
redis.call('HSET', KEYS[2], 'state', want, 'tier', ARGV[5] or '', 'skills', n.skills, 'skill', skills[1],
	'arrived_ms', num(arrived), 'weight_ms', num(weight), 'sl_ms', num(int(ARGV[7], 'sl_ms', 0)),
	'score', n.score, 'owner', owner, 'gateway', gateway, 'ani', ARGV[10] or '', 'service', ARGV[11] or '',
	'agent', agent, 'alerted', '', 'gen', num(gen))
if (ARGV[17] or '') ~= '' then redis.call('HSET', KEYS[2], 'iv_ms', num(int(ARGV[17], 'iv_ms', 0))) end
if want == 'queued' then
	queue_call(cid, n)
elseif want == 'offered' then
	redis.call('HSET', KEYS[2], 'offer_deadline_ms', num(deadline))
	redis.call('ZADD', K.offers, num(deadline), cid)
else
	redis.call('HSET', KEYS[2], 'answered_ms', num(answered))
	redis.call('ZREM', K.offers, cid)
end
return {want, num(gen)}
