-- connected: the gateway bridged the caller to the agent's phone (CallConnected);
-- the talk starts now.
-- KEYS: epoch, call:<id>
-- ARGV: epoch, now_ms
-- Derived: rt:<tier>, rt:skill:<skill> (wait_ms, answered_in_sl),
-- iv:<interval of the answer>.
-- The call's `connected_ms` becomes now: hangup counts the talk from it (from
-- answered_ms for a gateway that never sends CallConnected). The wait the
-- answer counted (arrival to the agent's answer) is carried on to now, and a
-- call that crossed its service level meanwhile leaves answered_in_sl, so
-- service level and wait are measured to the start of talk. A second
-- CallConnected changes nothing.
-- Returns {"connected", call, wait_ms}. Refused (STATE) when the call is not answered.
begin()
local cid = id_at(2, 'call:')
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
local arrived = tonumber(c.arrived_ms)
if (c.connected_ms or '') ~= '' then
	return {'connected', cid, num(tonumber(c.connected_ms) - arrived)}
end
if c.state ~= 'answered' then fail('STATE', 'call is ' .. c.state) end
local answered = tonumber(c.answered_ms) or NOW
local later = math.max(NOW - answered, 0)
local sl = tonumber(c.sl_ms) or 0
local left_sl = (answered - arrived <= sl and answered - arrived + later > sl) and 1 or 0
redis.call('HSET', KEYS[2], 'connected_ms', num(answered + later))
count(c, {wait_ms = later, answered_in_sl = -left_sl})
local iv = tonumber(c.iv_ms)
if iv and iv > 0 then
	local p = iv_prefix(c.tier, c.skill)
	iv_add(iv, answered, {[p .. 'wait_ms'] = later, [p .. 'answered_in_sl'] = -left_sl},
		{[p .. 'max_wait_ms'] = answered - arrived + later})
end
return {'connected', cid, num(answered - arrived + later)}
