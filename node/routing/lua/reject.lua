-- reject: the agent declined the call offered to it.
-- KEYS: epoch, call:<id>, agent:<id>, strategy, offers
-- ARGV: epoch, now_ms, after (ready|not_ready), reason
-- Derived: q:<skill> of the call, ready:<skill> of the agent, events:<node>.
-- The call goes back to its queues with its original score (its place); the
-- agent goes `after` (not_ready with `reason`). Refused (STATE) when the call
-- is not offered to this agent.
-- Returns {"requeued", call}.
begin()
local cid = id_at(2, 'call:')
local aid = id_at(3, 'agent:')
fixed(4, 'strategy')
fixed(5, 'offers')
local after = oneof(ARGV[3], AFTER, 'after')
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
if c.state ~= 'offered' or c.agent ~= aid then fail('STATE', 'call is ' .. c.state .. ', not offered to ' .. aid) end
return_offer(cid, c, after, ARGV[4] or 'rejected', 'rejected')
return {'requeued', cid}
