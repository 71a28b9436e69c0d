-- menu: the caller's IVR menu choice queues a held call (arrive with hold_ms)
-- in the queues it chose, and offers it to the best ready agent there.
-- KEYS: epoch, call:<id>, strategy, seq, offers, q:<skill>..., ready:<skill>...
--       (the skills it is to wait in, preferred first: the chosen one, or
--       the ladder's first ones when no choice came in time)
-- ARGV: epoch, now_ms, choice (the key pressed; '' none), offer_ms, ring_n
-- Derived: rt:skill:<skill> ("offered" moves from the skill arrive counted
-- to the first of these, so the call counts once, where it waits); held
-- (the call leaves it).
-- Once only: the call's `menu` becomes the choice (or "none"), its hash
-- lasting again (arrive gave a held one an expiry), and a call
-- whose menu is not "open" is left as it is (a retry, a later key, a node
-- that took the call over and queued it already); one offered or answered
-- meanwhile keeps its agent, its menu closed.
-- Returns {"kept", state, skills}, or {state, score} followed by route_call's reply
-- when it made one, as arrive. Refused (STATE) when the call is over.
begin()
local cid = id_at(2, 'call:')
local skills = queue_keys()
local choice = ARGV[3] or ''
local offer_ms = int(ARGV[4], 'offer_ms', 1)
local ring_n = int(ARGV[5] or '1', 'ring_n', 1)
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
if c.menu ~= 'open' then return {'kept', c.state, c.skills} end
if c.state == 'offered' or c.state == 'answered' then
	-- Offered meanwhile (re-asserted into its queues by a node that took it
	-- over): the menu is over where it is.
	redis.call('HSET', KEYS[2], 'menu', choice ~= '' and choice or 'none')
	redis.call('PERSIST', KEYS[2])
	redis.call('ZREM', key('held', ''), cid)
	return {'kept', c.state, c.skills}
end
if c.state ~= 'queued' then fail('STATE', 'call is ' .. c.state) end
-- Out of the queues it may be in (a take-over re-asserted it there).
unqueue_call(cid, c)
if skills[1] ~= c.skill then
	hash_add(key('rt:skill:', c.skill), {offered = -1})
	hash_add(key('rt:skill:', skills[1]), {offered = 1})
end
c.skills, c.skill, c.menu, c.held = table.concat(skills, ','), skills[1], choice ~= '' and choice or 'none', true
redis.call('HSET', KEYS[2], 'skills', c.skills, 'skill', c.skill, 'menu', c.menu)
redis.call('PERSIST', KEYS[2])
redis.call('ZREM', key('held', ''), cid)
return route_arrived(cid, c, skills, offer_ms, ring_n)
