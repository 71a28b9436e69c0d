-- max_wait: the call reached its tier's maximum wait; the caller is offered a
-- callback or voicemail instead.
-- KEYS: epoch, call:<id>
-- ARGV: epoch, now_ms, outcome (callback|voicemail), keep_ms
-- Derived: q:<skill> of the call, rt:<tier>, rt:skill:<skill> (overflowed), iv:<interval>,
-- events:<node> of alerted agents.
-- The call leaves every queue and becomes overflowed with `outcome`; it
-- expires after keep_ms. Again on an overflowed call: no change.
-- Returns {"overflowed", outcome}. Refused (STATE) unless the call is queued
-- (an offered call is left to its agent).
begin()
local cid = id_at(2, 'call:')
local outcome = oneof(ARGV[3], {callback = true, voicemail = true}, 'outcome')
local keep = int(ARGV[4], 'keep_ms', 1)
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
if c.state == 'overflowed' then return {'overflowed', c.outcome} end
if c.state ~= 'queued' then fail('STATE', 'call is ' .. c.state) end
call_finish(cid, c, 'overflowed', keep, {'outcome', outcome})
count(c, {overflowed = 1})
iv_call(c, 'overflowed', NOW - tonumber(c.arrived_ms))
return {'overflowed', outcome}
