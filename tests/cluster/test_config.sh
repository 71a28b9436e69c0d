#!/bin/sh
# The nodes' settings (kefuctl config, docs/operations.md), on a three-node
# cluster:
#   - config show: every setting with its scope (cluster or node), whether it
#     is the default, and a path's file by SHA-256;
#   - config check: the same cluster settings on every node passes; a node
#     restarted with another wrap_up, or another dispatch file under the same
#     name, is named with each node's value (exit status 1); a node killed
#     with -9 is reported as unanswered.
. "$(dirname "$0")/lib.inc"

printf '%s\n' '*  *  *  backoffice' >"$D/dispatch"
up 3 --extra 'offer_timeout = 15s' --extra "wo_dispatch = $D/dispatch"

ctl --node "$(addr node2)" config show --json >"$D/show" 2>&1 || fail "show: $(cat "$D/show")"
python3 - "$D/show" "$D/dispatch" <<'PY' || fail "config show: $(head -c 600 "$D/show")"
import hashlib, json, sys
r = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in r["settings"]}
assert r["node"] == "node2", r["node"]
assert s["offer_timeout"]["value"] == "15s" and not s["offer_timeout"]["default"], s["offer_timeout"]
assert s["offer_timeout"]["scope"] == "cluster" and s["wrap_up"]["default"], s["wrap_up"]
assert s["node_name"]["scope"] == "node" and s["node_name"]["value"] == "node2", s["node_name"]
assert s["listen_addr"]["scope"] == "node" and s["wo_escalate"]["scope"] == "cluster"
sha = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert s["wo_dispatch"]["file_sha256"] == sha, s["wo_dispatch"]
PY
ok
ctl config check >"$D/check1" 2>&1 || fail "check of a consistent cluster: $(cat "$D/check1")"
grep -q "the same on all 3 nodes" "$D/check1" || fail "check: $(cat "$D/check1")"
ok

# node3 restarted with another wrap_up and another dispatch file under the same name.
"$H" kill node3 --dir "$D"
printf 'wrap_up = 20s\n' >>"$D/node3/kefud.conf"
mkdir -p "$D/n3" && printf '%s\n' '*  *  *  frontline' >"$D/n3/dispatch"
sed -i "s|^wo_dispatch = .*|wo_dispatch = $D/n3/dispatch|" "$D/node3/kefud.conf"
"$H" start node3 --dir "$D" >/dev/null || fail "restart node3"
wait_for "node3 up" 30 sh -c "\"$KEFUCTL\" --cluster \"$CJ\" --node $(addr node3) config show >/dev/null"
if ctl config check --json >"$D/check2" 2>&1; then fail "check passed with node3 different: $(cat "$D/check2")"; fi
python3 - "$D/check2" <<'PY' || fail "check: $(cat "$D/check2")"
import json, sys
r = json.load(open(sys.argv[1]))
d = {x["name"]: x["values"] for x in r["differences"]}
assert not r["same"] and set(d) == {"wrap_up", "wo_dispatch"}, d
assert d["wrap_up"]["node3"] == "20s" and d["wrap_up"]["node1"] == "10s", d
assert d["wo_dispatch"]["node3"] != d["wo_dispatch"]["node1"], d
PY
ok

# A node killed with -9 is no node that agrees.
"$H" kill node2 --dir "$D"
if ctl config check >"$D/check3" 2>&1; then fail "check passed with node2 dead"; fi
grep -q "did not answer" "$D/check3" || fail "check: $(cat "$D/check3")"
ok
done_ok
