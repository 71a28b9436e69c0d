#!/bin/sh
# Builds build/deb/kefu_<version>_amd64.deb from the release programs with
# dpkg-deb: the programs, the systemd units, the default configuration, the
# province and service templates, the first-boot script, the man pages made
# by --help-man, and the Debian files (control with Depends from
# dpkg-shlibdeps, postinst, postrm, conffiles, md5sums, copyright, changelog).
#
#   appliance/deb/build.sh [BINDIR [OUTDIR]]   (build/rel/bin, build/deb)
#
# Prints the path of the package. Run from the top of the tree (make deb).
set -eu
bin=${1:-build/rel/bin}
here=appliance/deb
version=$(dpkg-parsechangelog -l "$here/changelog" -S Version)
out=${2:-build/deb}
stage=$out/stage
deb=$out/kefu_${version}_amd64.deb

for p in kefud kefuctl kefu-sim kefu-sipgw; do
	[ -x "$bin/$p" ] || { echo "deb: $bin/$p is missing (make all)" >&2; exit 1; }
done
rm -rf "$stage"
umask 022
mkdir -p "$stage/DEBIAN" "$stage/usr/sbin" "$stage/usr/bin" "$stage/lib/systemd/system" \
	"$stage/etc/kefu" "$stage/usr/share/man/man8" "$stage/usr/share/doc/kefu" \
	"$stage/usr/share/kefu/provinces" "$stage/usr/share/kefu/templates" \
	"$stage/usr/share/kefu/nftables" "$stage/usr/lib/sysctl.d" "$stage/usr/libexec/kefu" \
	"$stage/usr/share/kefu/prompts" "$stage/usr/share/kefu/sip"

# Programs, stripped of their debugging sections (Debian policy 10.1).
inst_prog() { # source destination
	install -m 0755 "$1" "$2"
	strip --remove-section=.comment --remove-section=.note --strip-unneeded "$2"
}
inst_prog "$bin/kefud" "$stage/usr/sbin/kefud"
inst_prog "$bin/kefuctl" "$stage/usr/sbin/kefuctl"
inst_prog "$bin/kefu-sim" "$stage/usr/bin/kefu-sim"
inst_prog "$bin/kefu-sipgw" "$stage/usr/sbin/kefu-sipgw"

for u in appliance/units/*.service appliance/firstboot/kefu-firstboot.service; do
	install -m 0644 "$u" "$stage/lib/systemd/system/"
done
install -m 0755 appliance/firstboot/kefu-firstboot "$stage/usr/sbin/kefu-firstboot"
# The template is no script of its own: without its #! line.
sed '1{/^#!/d}' appliance/nftables/kefu.nft.in >"$stage/usr/share/kefu/nftables/kefu.nft.in"
install -m 0755 appliance/nftables/render.sh "$stage/usr/libexec/kefu/nft-render"
install -m 0644 appliance/sysctl/90-kefu.conf "$stage/usr/lib/sysctl.d/90-kefu.conf"
install -m 0644 appliance/provinces/*.conf "$stage/usr/share/kefu/provinces/"
install -m 0644 appliance/templates/* "$stage/usr/share/kefu/templates/"
# kefu-sipgw's prompts (made by sox at build time, make all) and the
# edge's Kamailio template (docs/sipgw.md).
prompts=${KEFU_PROMPTS:-build/prompts}
for w in greeting moh vip-direct drop; do
	[ -f "$prompts/$w.wav" ] || { echo "deb: $prompts/$w.wav is missing (make all)" >&2; exit 1; }
	install -m 0644 "$prompts/$w.wav" "$stage/usr/share/kefu/prompts/"
done
install -m 0644 appliance/sip/kamailio.cfg.in "$stage/usr/share/kefu/sip/"
mkdir -p "$stage/lib/systemd/system/rtpengine-daemon.service.d"
install -m 0644 appliance/sip/rtpengine-kefu.conf \
	"$stage/lib/systemd/system/rtpengine-daemon.service.d/kefu.conf"
# The default configuration: the example province's, per node filled in by
# kefu-firstboot (a conffile: an edited copy survives upgrades).
install -m 0644 appliance/provinces/SC.conf "$stage/etc/kefu/kefud.conf"

# Man pages from the same tables as --help.
"$bin/kefud" --help-man >"$stage/usr/share/man/man8/kefud.8"
"$bin/kefuctl" --help-man >"$stage/usr/share/man/man8/kefuctl.8"
install -m 0644 appliance/firstboot/kefu-firstboot.8 appliance/sip/kefu-sipgw.8 \
	"$stage/usr/share/man/man8/"
gzip -9n "$stage"/usr/share/man/man8/*.8

install -m 0644 "$here/copyright" "$stage/usr/share/doc/kefu/copyright"
gzip -9n -c "$here/changelog" >"$stage/usr/share/doc/kefu/changelog.gz"
chmod 0644 "$stage/usr/share/doc/kefu/changelog.gz"
gzip -9n -c docs/appliance.md >"$stage/usr/share/doc/kefu/appliance.md.gz"
chmod 0644 "$stage/usr/share/doc/kefu/appliance.md.gz"

# Depends: the libraries the programs link, by dpkg-shlibdeps (it wants a
# debian/control beside it), and adduser for postinst.
shl=$out/shlibs
rm -rf "$shl" && mkdir -p "$shl/debian"
printf 'Source: kefu\n\nPackage: kefu\nArchitecture: amd64\n' >"$shl/debian/control"
st=$(cd "$stage" && pwd)
(cd "$shl" && dpkg-shlibdeps -O "$st/usr/sbin/kefud" "$st/usr/sbin/kefuctl" \
	"$st/usr/bin/kefu-sim" "$st/usr/sbin/kefu-sipgw") >"$out/substvars"
libs=$(sed -n 's/^shlibs:Depends=//p' "$out/substvars")
[ -n "$libs" ] || { echo "deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }

install -m 0755 "$here/postinst" "$here/postrm" "$stage/DEBIAN/"
install -m 0644 "$here/conffiles" "$stage/DEBIAN/conffiles"
size=$(du -k -s --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|adduser, $libs|" \
	"$here/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f ! -path './etc/*' -print |
	sed 's|^\./||' | LC_ALL=C sort | xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

# Reproducible: files owned by root, times from the changelog.
epoch=$(dpkg-parsechangelog -l "$here/changelog" -S Timestamp)
find "$stage" -exec touch -h -d "@$epoch" {} +
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
