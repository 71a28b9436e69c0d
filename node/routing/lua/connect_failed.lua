-- connect_failed: the gateway could not reach the phone of the agent who
-- answered the call (ConnectFailed: no answer, busy, not registered).
-- KEYS: epoch, call:<id>, agent:<id>, strategy, offers
-- ARGV: epoch, now_ms, reason (the agent's not-ready reason), why (the gateway's)
-- Derived: q:<skill> and ready:<skill> as reject, rt:<tier>, rt:skill:<skill>,
-- iv:<interval of the answer>, anscount:<skill>, events:<node>.
-- The caller never talked, so the answer is taken back: the call goes back to
-- its queues with its original score (its place) and `connect_failed` = why;
-- the agent, if still on this call, goes not_ready with reason (its `calls`
-- back by one, `offer_end` why "phone" to its node); what answer counted
-- (answered, answered_in_sl, wait_ms, the interval's offered and answered
-- and the agent's calls, the answer bucket) is subtracted where it was added,
-- so the next answer counts the call once with its whole wait (an interval
-- the leader closed meanwhile keeps what it stored). The call's node hears
-- `requeued` and routes it again.
-- Returns {"requeued", call}. Refused (STATE) when the call is not answered
-- by this agent or has already talked (connected_ms).
begin()
local cid = id_at(2, 'call:')
local aid = id_at(3, 'agent:')
fixed(4, 'strategy')
fixed(5, 'offers')
local reason = ARGV[3] or ''
if reason == '' then fail('ARGS', 'reason is empty') end
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
if c.state ~= 'answered' or c.agent ~= aid then fail('STATE', 'call is ' .. c.state .. ', not answered by ' .. aid) end
if (c.connected_ms or '') ~= '' then fail('STATE', 'call is connected') end

local answered = tonumber(c.answered_ms) or NOW
local wait = answered - tonumber(c.arrived_ms)
local in_sl = wait <= tonumber(c.sl_ms) and 1 or 0
count(c, {answered = -1, wait_ms = -wait, answered_in_sl = -in_sl})
local iv = tonumber(c.iv_ms)
if iv and iv > 0 then
	-- (offered is answered + abandoned + overflowed: it goes down with answered)
	local p = iv_prefix(c.tier, c.skill)
	iv_add(iv, answered, {['a:' .. aid .. ':calls'] = -1, [p .. 'answered'] = -1,
		[p .. 'wait_ms'] = -wait, [p .. 'answered_in_sl'] = -in_sl})
end
local ans, b = key('anscount:', c.skill), math.floor(answered / ANSWER_BUCKET_MS)
local slot = num(b % ANSWER_SLOTS)
local n = bucket_count(b, redis.call('HGET', ans, slot))
if n > 0 then redis.call('HSET', ans, slot, num(b) .. ':' .. num(n - 1)) end

local a = load(KEYS[3])
if a and a.state == 'on_call' and a.call == cid then
	agent_to_not_ready(aid, a, reason, {'calls', num(math.max((tonumber(a.calls) or 1) - 1, 0))})
	publish(a.owner, {type = 'offer_end', call = cid, agent = aid, why = 'phone'})
end
redis.call('HSET', KEYS[2], 'answered_ms', '', 'connect_failed', ARGV[4] or '')
return_offer(cid, c, 'not_ready', reason, 'phone')
return {'requeued', cid}
