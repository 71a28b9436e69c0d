-- abandon: the caller hung up while queued or offered.
-- KEYS: epoch, call:<id>, strategy, offers
-- ARGV: epoch, now_ms, keep_ms, [owner], [outcome]
-- Derived: q:<skill> of the call, agent:<id> and ready:<skill> of an offered
-- agent, rt:<tier>, rt:skill:<skill> (abandoned), iv:<interval>, events:<node>.
-- The call leaves every queue, becomes abandoned and expires after keep_ms; an
-- agent it was offered to goes back to ready; alerted agents are told.
-- Abandoning again, or a call that ended otherwise, changes nothing; with an
-- owner, a call another node owns now (its gateway resumed there) neither.
-- outcome (e.g. gateway-lost) is kept in the call's `outcome`.
-- Returns {state, wait_ms}. Refused (STATE) when the call is answered (hangup).
begin()
local cid = id_at(2, 'call:')
fixed(3, 'strategy')
fixed(4, 'offers')
local keep = int(ARGV[3], 'keep_ms', 1)
local owner, outcome = ARGV[4] or '', ARGV[5] or ''
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
if owner ~= '' and c.owner ~= owner then return {c.state, '0'} end
if c.state ~= 'queued' and c.state ~= 'offered' then
	if c.state == 'answered' then fail('STATE', 'call is answered') end
	return {c.state, num(tonumber(c.ended_ms or NOW) - tonumber(c.arrived_ms or NOW))}
end
if c.state == 'offered' then
	local aid = c.agent
	local a = load(key('agent:', aid))
	if a and a.state == 'reserved' and a.call == cid then
		agent_to_ready(aid, a)
		publish(a.owner, {type = 'offer_end', call = cid, agent = aid, why = 'abandoned'})
	end
end
local wait = NOW - tonumber(c.arrived_ms)
call_finish(cid, c, 'abandoned', keep, {'agent', '', 'outcome', outcome})
count(c, {abandoned = 1})
iv_call(c, 'abandoned', wait)
return {'abandoned', num(wait)}
