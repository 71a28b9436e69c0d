#!/bin/sh
# Builds a province node's root filesystem with mmdebstrap (Debian 12,
# minbase, Debian packages only, the kefu package built by `make deb`):
#
#   appliance/image/build.sh PROVINCE      (make appliance PROVINCE=SC)
#
# writes build/appliance/PROVINCE/rootfs.tar and manifest.json (every
# package and version, each unit's exposure by systemd-analyze security
# --offline=true --root, the tarball's sha256), then runs
# tests/appliance/check_image.sh on it. Fails when a service unit scores an
# exposure above 2.0. Downloads packages: not part of `make test`.
#
# MIRROR (http://deb.debian.org/debian) and SECURITY_MIRROR
# (http://deb.debian.org/debian-security) choose the mirrors.
set -eu
province=${1:?usage: build.sh PROVINCE}
case "$province" in *[!A-Z]*) echo "build.sh: PROVINCE is upper-case letters (SC)" >&2; exit 2 ;; esac
conf=appliance/provinces/$province.conf
[ -r "$conf" ] || { echo "build.sh: no $conf" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "build.sh: mmdebstrap is not installed (make deps)" >&2; exit 1; }
version=$(dpkg-parsechangelog -l appliance/deb/changelog -S Version)
deb=build/deb/kefu_${version}_amd64.deb
[ -f "$deb" ] || { echo "build.sh: $deb is missing (make deb)" >&2; exit 1; }
mirror=${MIRROR:-http://deb.debian.org/debian}
security=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
out=build/appliance/$province
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/kefu-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$deb" "$work/kefu.deb"
cp "$conf" "$work/province.conf"

# The packages of the image: the runtime list, and what a booted node needs.
pkgs=$(grep -v '^[[:space:]]*#' appliance/packages-runtime.txt | tr -s ' \n' ',' | sed 's/^,//;s/,$//')
# netbase: /etc/protocols and /etc/services, which nft needs to read the ruleset.
pkgs="$pkgs,systemd,systemd-sysv,dbus,iproute2,netbase,nftables,openssh-server,adduser,ca-certificates"

units="kefud.service kefu-etcd.service kefu-redis.service kefu-sentinel.service kefu-sipgw.service"
rm -f "$out/rootfs.tar" "$out/manifest.json"
mmdebstrap --variant=minbase --include="$pkgs" --aptopt='APT::Install-Recommends "false"' \
	--customize-hook="copy-in $work/kefu.deb /tmp" \
	--customize-hook='chroot "$1" apt-get install -y -q --no-install-recommends /tmp/kefu.deb' \
	--customize-hook='rm -f "$1/tmp/kefu.deb"' \
	--customize-hook="copy-in $work/province.conf /etc/kefu" \
	--customize-hook='chmod 0644 "$1/etc/kefu/province.conf"' \
	--customize-hook="chroot \"\$1\" systemctl enable kefu-firstboot.service $units nftables.service" \
	--customize-hook='chroot "$1" systemctl mask etcd.service redis-server.service redis-sentinel.service' \
	--customize-hook='chroot "$1" systemctl enable rtpengine-daemon.service' \
	--customize-hook='chroot "$1" systemctl disable kamailio.service' \
	--customize-hook='printf "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n" >"$1/etc/ssh/sshd_config.d/kefu.conf"' \
	--customize-hook='chroot "$1" passwd -l root >/dev/null' \
	--customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
	--customize-hook="chroot \"\$1\" dpkg-query -W -f='\${Package}\\t\${Version}\\n' >$work/packages.tsv" \
	--customize-hook="for u in $units kefu-firstboot.service; do printf '%s\\t' \$u; systemd-analyze security --offline=true --root=\"\$1\" --no-pager \$u 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \\([0-9.]*\\).*/\\1/p'; done >$work/exposure.tsv" \
	bookworm "$out/rootfs.tar" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
	"deb $security bookworm-security main"

# The manifest, and the exposure check of the service units.
sha=$(sha256sum "$out/rootfs.tar" | cut -d' ' -f1)
python3 - "$work/packages.tsv" "$work/exposure.tsv" "$sha" "$province" "$version" "$units" \
	>"$out/manifest.json" <<'PY'
import json, sys
pk, ex, sha, prov, ver, units = sys.argv[1:7]
packages = [dict(zip(("name", "version"), l.rstrip("\n").split("\t")))
            for l in open(pk) if l.strip()]
exposure = {}
for l in open(ex):
    name, _, score = l.rstrip("\n").partition("\t")
    exposure[name] = float(score) if score else None
print(json.dumps({"province": prov, "kefu_version": ver, "suite": "bookworm",
                  "rootfs": "rootfs.tar", "sha256": sha, "packages": packages,
                  "units": [{"name": u, "exposure": exposure.get(u)} for u in sorted(exposure)]},
                 indent=1))
bad = [u for u in units.split() if exposure.get(u) is None or exposure[u] > 2.0]
if bad:
    sys.exit("exposure above 2.0 (or not scored): " + ", ".join(bad))
PY
sh tests/appliance/check_image.sh "$out"
