#!/bin/sh
# Checks a node's root filesystem made by appliance/image/build.sh
# (run by `make appliance`; needs root to unpack it):
#   - manifest.json: the tarball's sha256, every package the image must
#     hold, each service unit scored at 2.0 or less;
#   - the units installed and enabled, Debian's own etcd/redis/sentinel
#     units masked; the configuration and templates present;
#   - kefud of the image passes --check on the image's configuration
#     (chroot: every library it links is there);
#   - no compilers, no apt caches or package lists, no login shell for
#     any user but root, no ssh password login, no ssh host keys.
#
#   check_image.sh build/appliance/SC
set -eu
dir=${1:?usage: check_image.sh build/appliance/PROVINCE}
tar=$dir/rootfs.tar
man=$dir/manifest.json
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$tar" ] || fail "$tar is missing"
[ -f "$man" ] || fail "$man is missing"
r=$(mktemp -d /tmp/kefu-check.XXXXXX)
trap 'rm -rf "$r"' EXIT

python3 - "$man" "$(sha256sum "$tar" | cut -d' ' -f1)" <<'PY' || fail "manifest"
import json, re, sys
m = json.load(open(sys.argv[1]))
assert m["sha256"] == sys.argv[2], "sha256 %s is not the tarball's %s" % (m["sha256"], sys.argv[2])
have = {p["name"]: p["version"] for p in m["packages"]}
need = ["kefu", "etcd-server", "etcd-client", "redis-server", "redis-sentinel", "redis-tools",
        "nftables", "systemd", "liblmdb0", "libprotobuf-c1", "libhiredis0.14", "libcurl4",
        "libssl3", "libevent-2.1-7", "libjansson4", "libicu72"]
missing = [p for p in need if p not in have]
assert not missing, "packages missing: %s" % missing
# gcc-12-base is the runtime's base package (copyright files), not a compiler.
compiler = re.compile(r"^((gcc|cpp|g\+\+|clang|tcc)(-[0-9]+)?|build-essential|make|binutils.*|lib(gcc|clang).*-dev)$")
banned = [p for p in have if compiler.match(p)]
assert not banned, "compilers in the image: %s" % banned
units = {u["name"]: u["exposure"] for u in m["units"]}
for u in ("kefud.service", "kefu-etcd.service", "kefu-redis.service", "kefu-sentinel.service",
          "kefu-sipgw.service"):
    assert units.get(u) is not None, "%s not scored" % u
    assert units[u] <= 2.0, "%s scores %s" % (u, units[u])
print("manifest: %d packages, kefu %s, units %s" % (len(have), have["kefu"], units))
PY

tar -C "$r" -xf "$tar"
for f in /usr/sbin/kefud /usr/sbin/kefuctl /usr/sbin/kefu-firstboot /usr/bin/etcd \
	/usr/bin/redis-server /usr/bin/redis-sentinel /usr/sbin/nft \
	/etc/kefu/kefud.conf /etc/kefu/province.conf /usr/share/kefu/templates/redis.conf.in \
	/usr/share/kefu/templates/sentinel.conf.in /usr/share/kefu/templates/etcd.env.in \
	/usr/lib/sysctl.d/90-kefu.conf /etc/ssh/sshd_config.d/kefu.conf; do
	[ -e "$r$f" ] || fail "$f is not in the image"
done
for u in kefud kefu-etcd kefu-redis kefu-sentinel kefu-sipgw kefu-firstboot; do
	[ -f "$r/lib/systemd/system/$u.service" ] || fail "$u.service is not installed"
	[ -L "$r/etc/systemd/system/multi-user.target.wants/$u.service" ] || fail "$u.service is not enabled"
done
for u in etcd redis-server redis-sentinel; do
	[ "$(readlink "$r/etc/systemd/system/$u.service")" = /dev/null ] || fail "$u.service is not masked"
done
chroot "$r" /usr/sbin/kefud --config /etc/kefu/kefud.conf --check || fail "kefud --check in the image"
# The image's nft reads a ruleset rendered by the image's renderer.
chroot "$r" sh /usr/libexec/kefu/nft-render --template /usr/share/kefu/nftables/kefu.nft.in \
	--nodes 10.20.0.11,10.20.0.12,10.20.0.13 --agents 10.30.0.0/16 --gateways 10.40.0.0/24 \
	--admins 10.50.0.0/24 --monitoring 10.50.0.10 >"$r/tmp/kefu.nft" || fail "nft-render in the image"
chroot "$r" nft -c -f /tmp/kefu.nft || fail "the image's nft refuses the ruleset"
rm -f "$r/tmp/kefu.nft"

for c in gcc cc c99 clang cpp g++ c++ ld as tcc; do
	for p in /usr/bin /bin /usr/local/bin; do
		[ ! -e "$r$p/$c" ] || fail "compiler $p/$c in the image"
	done
done
ls "$r"/usr/bin/gcc-* "$r"/usr/bin/clang-* "$r"/usr/lib/gcc 2>/dev/null | grep -q . && fail "compiler files in the image"
# apt's empty lock files may stay; nothing else.
left=$(find "$r/var/cache/apt" "$r/var/lib/apt/lists" -type f ! \( -name lock -size 0 \) 2>/dev/null | head)
[ -z "$left" ] || fail "apt caches or lists left: $left"

# Users: the service users exist without a shell; nobody but root has one.
for u in kefu kefu-etcd kefu-redis kefu-sentinel; do
	grep -q "^$u:" "$r/etc/passwd" || fail "user $u is missing"
done
awk -F: -v shells="$(grep -v '^#' "$r/etc/shells" | tr '\n' ' ')" '
	BEGIN { n = split(shells, s, " "); for (i = 1; i <= n; i++) sh[s[i]] = 1 }
	$1 != "root" && ($7 in sh) { print $1 " has the login shell " $7; bad = 1 }
	END { exit bad }' "$r/etc/passwd" || fail "a login shell for a service user"
grep -q '^root:[!*]' "$r/etc/shadow" || fail "root has a password"
grep -q '^PasswordAuthentication no' "$r/etc/ssh/sshd_config.d/kefu.conf" || fail "ssh password login"
ls "$r"/etc/ssh/ssh_host_* 2>/dev/null | grep -q . && fail "ssh host keys in the image"
echo "ok: $tar: packages, units, configuration, no compilers, no apt caches, no shells"
