-- hangup: an answered call ended; its agent goes to wrap-up.
-- KEYS: epoch, call:<id>, agent:<id>
-- ARGV: epoch, now_ms, wrap_ms, keep_ms
-- Derived: iv:<interval> (node/ops), events:<agent's node>.
-- The call becomes ended (expires after keep_ms); the agent, if still on this
-- call, goes wrap_up until now + wrap_ms with the talk time added to talk_ms.
-- The talk counts from connected_ms when the gateway sent CallConnected
-- (node/routing/lua/connected.lua), else from answered_ms.
-- Hanging up an ended call again changes nothing.
-- Returns {"ended", talk_ms}. Refused (STATE) when the call is not answered by
-- this agent.
begin()
local cid = id_at(2, 'call:')
local aid = id_at(3, 'agent:')
local wrap = int(ARGV[3], 'wrap_ms', 0)
local keep = int(ARGV[4], 'keep_ms', 1)
local c = load_call(KEYS[2])
if not c then fail('NOTFOUND', 'call ' .. cid) end
if c.agent ~= aid then fail('STATE', 'call is not with ' .. aid) end
local start = tonumber(c.connected_ms or '') or tonumber(c.answered_ms)
if c.state == 'ended' then return {'ended', num(tonumber(c.ended_ms) - start)} end
if c.state ~= 'answered' then fail('STATE', 'call is ' .. c.state) end
local talk = math.max(NOW - start, 0)
call_finish(cid, c, 'ended', keep, {})
iv_call(c, 'ended', talk)
local a = load(KEYS[3])
if a and a.state == 'on_call' and a.call == cid then
	local until_ms = num(NOW + wrap)
	local clock = agent_time(aid, a)
	redis.call('HSET', KEYS[3], 'state', 'wrap_up', 'reason', '', 'call', '', 'wrap_until_ms', until_ms,
		'talk_ms', num((tonumber(a.talk_ms) or 0) + talk), 'last_tier', c.tier, 'last_skill', c.skill,
		clock[1], clock[2])
	publish(a.owner, {type = 'wrap_up', call = cid, agent = aid, wrap_until_ms = until_ms})
end
return {'ended', num(talk)}
