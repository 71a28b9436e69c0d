-- enqueue: a new call joins the queue of each of its skills, without
-- routing it (arrive does both; this step stays for tools and the tests that
-- build queues step by step).
-- KEYS: epoch, call:<id>, q:<skill>... (the call's skills, preferred first)
-- ARGV: epoch, now_ms, arrived_ms, tier, weight_ms, sl_ms, owner, gateway, ani, service,
--       verified (how the caller is verified already, caller-id; '' none)
-- Derived: rt:<tier>, rt:skill:<first skill> ("offered" +1).
-- Score = arrived_ms - weight_ms, lowest served first. Idempotent by call id:
-- a call that exists already is left as it is (a hash without a state is no
-- call: it is written over, keeping its other fields).
-- Returns {state, score}.
begin()
local cid = id_at(2, 'call:')
local c = enqueue_call(cid, names_from(3, 'q:'))
return {c.state, c.score}
