-- answer: the agent took the call offered to it, before the offer's deadline.
-- KEYS: epoch, call:<id>, agent:<id>, offers
-- ARGV: epoch, now_ms
-- Derived: rt:<tier>, rt:skill:<skill> (answered, answered_in_sl, wait_ms),
-- iv:<interval> (node/ops), anscount:<skill> (answers of the current 10 s bucket, for estimated_wait),
-- events:<call owner>.
-- The call becomes answered, the agent on_call (calls +1). Answering again the
-- same call by the same agent returns the same reply and changes nothing.
-- Returns {"answered", call, agent, wait_ms}. Refused: STATE when the call is
-- not offered to this agent, EXPIRED after the deadline (the sweep takes it back).
begin()
local cid = id_at(2, 'call:')
local aid = id_at(3, 'agent:')
fixed(4, 'offers')
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
local a = load(KEYS[3])
if not a then fail('NOTFOUND', 'agent ' .. aid) end
local wait = NOW - tonumber(c.arrived_ms)
if c.state == 'answered' and c.agent == aid then
	return {'answered', cid, aid, num(tonumber(c.answered_ms) - tonumber(c.arrived_ms))}
end
if c.state ~= 'offered' or c.agent ~= aid then fail('STATE', 'call is ' .. c.state .. ', not offered to ' .. aid) end
if a.state ~= 'reserved' or a.call ~= cid then fail('STATE', 'agent is ' .. a.state) end
if NOW > tonumber(c.offer_deadline_ms) then fail('EXPIRED', 'offer deadline ' .. c.offer_deadline_ms) end

redis.call('HSET', KEYS[2], 'state', 'answered', 'answered_ms', num(NOW))
local clock = agent_time(aid, a)
redis.call('HSET', KEYS[3], 'state', 'on_call', 'call_start_ms', num(NOW),
	'calls', num((tonumber(a.calls) or 0) + 1), clock[1], clock[2])
redis.call('ZREM', K.offers, cid)
count(c, {answered = 1, wait_ms = wait, answered_in_sl = wait <= tonumber(c.sl_ms) and 1 or 0})
iv_call(c, 'answered', wait, aid)
local ans, b = key('anscount:', c.skill), math.floor(NOW / ANSWER_BUCKET_MS)
local slot = num(b % ANSWER_SLOTS)
redis.call('HSET', ans, slot, num(b) .. ':' .. num(bucket_count(b, redis.call('HGET', ans, slot)) + 1))
publish(c.owner, {type = 'answered', call = cid, agent = aid})
return {'answered', cid, aid, num(wait)}
