-- enqueue: a new call joins the queue of each of its skills.
-- KEYS: epoch, call:<id>, q:<skill>... (the call's skills, preferred first)
-- ARGV: epoch, now_ms, arrived_ms, tier, weight_ms, sl_ms, owner, gateway, ani, service,
--       verified (how the caller is verified already, e.g. own-number; '' none)
-- Derived: rt:<tier>, rt:skill:<first skill> ("offered" +1).
-- Score = arrived_ms - weight_ms, lowest served first. Idempotent by call id:
-- a call that exists already is left as it is (a hash without a state is no
-- call: it is written over, keeping its other fields).
-- Returns {state, score}.
begin()
local cid = id_at(2, 'call:')
local skills = names_from(3, 'q:')
if #skills == 0 then fail('KEYS', 'a call needs at least one q:<skill>') end
local arrived = int(ARGV[3], 'arrived_ms', 0)
local tier = ARGV[4] or ''
if tier == '' then fail('ARGS', 'tier is empty') end
local weight = int(ARGV[5], 'weight_ms', 0)
local sl = int(ARGV[6], 'sl_ms', 0)
local owner = ARGV[7] or ''
if owner == '' then fail('ARGS', 'owner is empty') end

local c = load_call(KEYS[2])
if c then return {c.state, c.score} end
c = {tier = tier, skill = skills[1], skills = table.concat(skills, ','), score = num(arrived - weight)}
redis.call('HSET', KEYS[2], 'state', 'queued', 'tier', tier, 'skills', c.skills, 'skill', c.skill,
	'arrived_ms', num(arrived), 'weight_ms', num(weight), 'sl_ms', num(sl), 'score', c.score,
	'owner', owner, 'gateway', ARGV[8] or '', 'ani', ARGV[9] or '', 'service', ARGV[10] or '',
	'agent', '', 'alerted', '')
if (ARGV[11] or '') ~= '' then redis.call('HSET', KEYS[2], 'verified', ARGV[11]) end
queue_call(cid, c)
count(c, 'offered', 1)
return {'queued', c.score}
