-- overflow: the call has waited T seconds; it may now be served by more skills.
-- KEYS: epoch, call:<id>, q:<skill>... (the skills to add, in order)
-- ARGV: epoch, now_ms
-- Skills the call has already are skipped. A queued call joins the new queues
-- with its original score; an offered one gets them if it comes back.
-- Returns the call's skills ("a,b,c"); the owner then runs route_call.
-- Refused (STATE) once the call is answered or over.
begin()
local cid = id_at(2, 'call:')
local add = names_from(3, 'q:')
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
if c.state ~= 'queued' and c.state ~= 'offered' then fail('STATE', 'call is ' .. c.state) end
local skills = split(c.skills)
local new = {}
for _, s in ipairs(add) do
	if not contains(skills, s) then skills[#skills + 1] = s; new[#new + 1] = s end
end
c.skills = table.concat(skills, ',')
redis.call('HSET', KEYS[2], 'skills', c.skills)
if c.state == 'queued' then
	for _, s in ipairs(new) do redis.call('ZADD', key('q:', s), c.score, cid) end
end
return c.skills
