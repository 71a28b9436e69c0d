#!/bin/sh
# The Debian package: appliance/deb/build.sh from the release programs,
# lintian without errors, the files it must hold (dpkg-deb -c), Depends on
# the libraries the programs link, md5sums that match, man pages that
# render, maintainer scripts that pass sh -n; kefu-sipgw with its unit,
# configuration template, prompts and the edge's Kamailio template.
set -eu
cd "$(dirname "$0")/../.."
REL=${KEFU_REL_BIN:-build/rel/bin}
d=$(mktemp -d /tmp/kefu-deb.XXXXXX)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
for t in dpkg-deb lintian dpkg-shlibdeps; do
	command -v $t >/dev/null || fail "$t is not installed"
done
[ -x "$REL/kefud" ] || fail "$REL/kefud is missing (make all)"

deb=$(appliance/deb/build.sh "$REL" "$d/out")
[ -f "$deb" ] || fail "no package"
case "$deb" in */kefu_*_amd64.deb) ;; *) fail "package name $deb" ;; esac

lintian "$deb" >"$d/lintian" 2>&1 || true
cat "$d/lintian"
grep -q '^E:' "$d/lintian" && fail "lintian reports errors"
lintian --fail-on error "$deb" >/dev/null 2>&1 || fail "lintian --fail-on error fails"

dpkg-deb -c "$deb" >"$d/contents"
for f in ./usr/sbin/kefud ./usr/sbin/kefuctl ./usr/bin/kefu-sim ./usr/sbin/kefu-firstboot \
	./lib/systemd/system/kefud.service ./lib/systemd/system/kefu-etcd.service \
	./lib/systemd/system/kefu-redis.service ./lib/systemd/system/kefu-sentinel.service \
	./lib/systemd/system/kefu-firstboot.service ./etc/kefu/kefud.conf \
	./usr/share/man/man8/kefud.8.gz ./usr/share/man/man8/kefuctl.8.gz \
	./usr/share/doc/kefu/copyright ./usr/share/doc/kefu/changelog.gz \
	./usr/share/kefu/templates/redis.conf.in ./usr/share/kefu/templates/sentinel.conf.in \
	./usr/share/kefu/templates/etcd.env.in ./usr/share/kefu/provinces/SC.conf \
	./usr/lib/sysctl.d/90-kefu.conf ./usr/sbin/kefu-sipgw ./lib/systemd/system/kefu-sipgw.service \
	./usr/share/kefu/templates/sipgw.env.in ./usr/share/man/man8/kefu-sipgw.8.gz \
	./usr/share/kefu/prompts/greeting.wav ./usr/share/kefu/prompts/moh.wav \
	./usr/share/kefu/prompts/drop.wav ./usr/share/kefu/sip/kamailio.cfg.in \
	./usr/share/kefu/templates/rtpengine.conf.in \
	./lib/systemd/system/rtpengine-daemon.service.d/kefu.conf; do
	grep -q " $f\$" "$d/contents" || fail "$f is not in the package"
done
grep -v ' root/root ' "$d/contents" && fail "a file not owned by root/root"
grep -q ' ./build/\| ./tmp/' "$d/contents" && fail "build paths in the package"
grep ' ./usr/sbin/kefud$' "$d/contents" | grep -q '^-rwxr-xr-x' || fail "kefud is not 0755"

dpkg-deb -f "$deb" Depends >"$d/depends"
for lib in adduser liblmdb0 libprotobuf-c1 libhiredis0.14 libcurl4 libssl3 libevent-2.1-7 libjansson4 libicu72 libre0; do
	grep -q "\\b$lib\\b" "$d/depends" || fail "Depends lacks $lib: $(cat "$d/depends")"
done

mkdir "$d/x" "$d/ctl"
dpkg-deb -x "$deb" "$d/x"
dpkg-deb -e "$deb" "$d/ctl"
(cd "$d/x" && md5sum --quiet -c "$d/ctl/md5sums") || fail "md5sums do not match"
grep -q '^etc/' "$d/ctl/md5sums" && fail "conffiles in md5sums"
grep -qx /etc/kefu/kefud.conf "$d/ctl/conffiles" || fail "kefud.conf is no conffile"
for s in postinst postrm; do sh -n "$d/ctl/$s" || fail "$s does not parse"; done
grep -q 'adduser --system' "$d/ctl/postinst" || fail "postinst makes no system user"
grep -q 'nologin' "$d/ctl/postinst" || fail "postinst gives the users a shell"
file "$d/x/usr/sbin/kefud" | grep -q 'stripped' || fail "kefud not stripped"
file "$d/x/usr/sbin/kefud" | grep -q 'not stripped' && fail "kefud not stripped"
file "$d/x/usr/sbin/kefu-sipgw" | grep -q 'not stripped' && fail "kefu-sipgw not stripped"
"$d/x/usr/sbin/kefu-sipgw" --help | grep -q -- '--rtpengine' || fail "kefu-sipgw --help"
zcat "$d/x/usr/share/man/man8/kefu-sipgw.8.gz" | groff -k -man -Tutf8 -ww -z 2>"$d/groff" ||
	fail "kefu-sipgw.8 does not render"
[ ! -s "$d/groff" ] || fail "kefu-sipgw.8: groff warns: $(cat "$d/groff")"
# Every option the unit passes is one kefu-sipgw takes.
for o in $(grep -o -- '--[a-z-]*' "$d/x/lib/systemd/system/kefu-sipgw.service" | sort -u); do
	"$d/x/usr/sbin/kefu-sipgw" --help | grep -q -- "$o " || fail "kefu-sipgw.service: unknown option $o"
done
# The man pages are the programs' own --help-man, and render.
for p in kefud kefuctl; do
	"$REL/$p" --help-man >"$d/man.ref"
	zcat "$d/x/usr/share/man/man8/$p.8.gz" | cmp -s - "$d/man.ref" || fail "$p.8 is not --help-man"
	zcat "$d/x/usr/share/man/man8/$p.8.gz" | groff -k -man -Tutf8 -ww -z 2>"$d/groff" || fail "$p.8 does not render"
	[ ! -s "$d/groff" ] || fail "$p.8: groff warns: $(cat "$d/groff")"
done
"$d/x/usr/sbin/kefud" --config "$d/x/etc/kefu/kefud.conf" --check || fail "the default configuration fails --check"
echo "ok: $(basename "$deb"): lintian without errors, $(wc -l <"$d/contents") entries, Depends $(cat "$d/depends")"
