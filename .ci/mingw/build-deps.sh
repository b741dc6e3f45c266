#!/bin/bash
# .ci/mingw/build-deps.sh - cross-build Check 0.15.2 and APR 1.7.2 for
# x86_64-w64-mingw32 (64-bit Windows) from Debian 12's own source packages,
# into a cached prefix. Run as root on Debian 12: `bash .ci/mingw/build-deps.sh`.
#
#   SCB_MINGW_PREFIX  install prefix (default /var/cache/scb-mingw/prefix)
#   SCB_MINGW_WORK    sources, build trees, Wine prefix used by the build
#                     (default /var/cache/scb-mingw/work; wiped before each
#                     build, removed after a successful one)
#   SCB_MINGW_KEEP_WORK=1  keep the work tree after a successful build
#   SCB_MINGW_JOBS    parallel make jobs (default: nproc)
#
# If the prefix holds both libraries and a stamp matching this script's
# inputs (versions, patch, toolchain file), nothing is rebuilt: that is the
# cache. See .ci/mingw/README.md.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prefix=${SCB_MINGW_PREFIX:-/var/cache/scb-mingw/prefix}
work=${SCB_MINGW_WORK:-/var/cache/scb-mingw/work}
jobs=${SCB_MINGW_JOBS:-$(nproc)}
host=x86_64-w64-mingw32
check_version=0.15.2
apr_version=1.7.2
patch_file=$here/apr-1.7.2-mingw.patch
toolchain=$here/toolchain-mingw64.cmake
stamp=$prefix/.scb-mingw-deps.stamp
marker=$prefix/.scb-mingw-prefix
srcfile=/etc/apt/sources.list.d/scb-mingw-deb-src.sources
packages="gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev
          wine wine64 cmake make patch dpkg-dev pkg-config"

t0=$(date +%s)
say() { printf '[build-deps %3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
die() { printf '[build-deps] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; [ $rc -eq 0 ] || printf "[build-deps] FAILED (status %s) after %ss\n" "$rc" "$(( $(date +%s) - t0 ))" >&2' EXIT

[ "$(id -u)" -eq 0 ] || die "run as root (needs apt-get)"
[ -r "$patch_file" ] || die "missing $patch_file"
[ -r "$toolchain" ] || die "missing $toolchain"
case $prefix in /*) ;; *) die "SCB_MINGW_PREFIX must be absolute: $prefix";; esac
case $work in /*) ;; *) die "SCB_MINGW_WORK must be absolute: $work";; esac

# What the cache depends on: a change to any of these rebuilds the prefix.
key="check=$check_version apr=$apr_version host=$host patch=$(sha256sum <"$patch_file" | cut -c1-16) toolchain=$(sha256sum <"$toolchain" | cut -c1-16) script=$(sha256sum <"$0" | cut -c1-16)"

cache_ok() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] &&
    [ -f "$prefix/lib/libcheck.dll.a" ] && [ -f "$prefix/bin/libcheck-0.dll" ] &&
    [ -f "$prefix/lib/libapr-1.dll.a" ] && [ -f "$prefix/bin/libapr-1.dll" ] &&
    [ -f "$prefix/lib/pkgconfig/check.pc" ] && [ -f "$prefix/lib/pkgconfig/apr-1.pc" ]
}

# ---- 1. packages (apt-get update at most once) -------------------------------
missing=
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done

need_src=no
if ! cache_ok; then
    need_src=yes
    # deb-src entries for the Debian sources already configured (deb822
    # .sources files, or one-line sources.list), unless some exist already.
    have_src=no
    if grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
       grep -qsiE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources; then
        have_src=yes
    fi
    if [ "$have_src" = no ]; then
        say "adding deb-src entries for the configured Debian sources: $srcfile"
        tmp=$(mktemp)
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            awk 'BEGIN { RS = ""; ORS = "\n\n" }
                 /URIs:[^\n]*debian/ && !/Enabled:[[:space:]]*no/ {
                     sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" >>"$tmp"
        done
        if [ -f /etc/apt/sources.list ]; then
            awk '$1 == "deb" && /debian/ { $1 = "deb-src"; print }' /etc/apt/sources.list >"$tmp.list"
            if [ -s "$tmp.list" ]; then
                mv "$tmp.list" /etc/apt/sources.list.d/scb-mingw-deb-src.list
            else
                rm -f "$tmp.list"
            fi
        fi
        if [ -s "$tmp" ]; then mv "$tmp" "$srcfile"; chmod 644 "$srcfile"; else rm -f "$tmp"; fi
        missing="$missing (deb-src)"
    fi
fi

if [ -n "$missing" ]; then
    say "apt-get update (needed for:$missing)"
    apt-get update -q
    pk=$(for p in $packages; do
             dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
         done | tr '\n' ' ')
    if [ -n "$pk" ]; then
        say "apt-get install $pk"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pk
    fi
else
    say "packages already installed: $(echo $packages)"
fi

# ---- 2. the cache ------------------------------------------------------------
if cache_ok; then
    say "cached: $prefix already holds Check $check_version and APR $apr_version ($key); nothing to do"
    exit 0
fi
say "building into $prefix (cache key: $key)"

if [ -e "$prefix" ]; then
    if [ -e "$marker" ]; then
        say "removing stale prefix $prefix"
        rm -rf "$prefix"
    elif [ -n "$(ls -A "$prefix")" ]; then
        die "$prefix exists, is not empty and was not made by this script; remove it or set SCB_MINGW_PREFIX"
    fi
fi
mkdir -p "$prefix"
: >"$marker"
rm -rf "$work"
mkdir -p "$work/src"

# Everything the build runs under Wine (APR's gen_test_char) uses a private
# prefix, no display, no Mono/Gecko installers, no debug chatter.
export WINEPREFIX=$work/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
say "creating Wine prefix $WINEPREFIX"
wineboot -i >"$work/wineboot.log" 2>&1 || { cat "$work/wineboot.log" >&2; die "wineboot failed"; }

# ---- 3. Debian sources -------------------------------------------------------
say "apt-get source check apr (into $work/src)"
# _apt cannot write into root's directories: let it, to avoid the sandbox warning
chown _apt "$work/src" 2>/dev/null || true
(cd "$work/src" && apt-get source -q check apr)
[ -d "$work/src/check-$check_version" ] || die "Debian's check source is not $check_version: $(ls "$work/src")"
[ -d "$work/src/apr-$apr_version" ] || die "Debian's apr source is not $apr_version: $(ls "$work/src")"

# ---- 4. Check ----------------------------------------------------------------
say "Check $check_version: configure --host=$host --disable-subunit"
mkdir -p "$work/build-check"
(cd "$work/build-check" &&
 "$work/src/check-$check_version/configure" -q --host=$host --disable-subunit \
     --prefix="$prefix" --disable-dependency-tracking)
say "Check: make -j$jobs MAKEINFO=true (library only)"
# lib/ and src/ are the library; tests/ and doc/ are not needed here.
make -s -C "$work/build-check/lib" -j"$jobs" MAKEINFO=true
make -s -C "$work/build-check/src" -j"$jobs" MAKEINFO=true
make -s -C "$work/build-check" -j"$jobs" MAKEINFO=true check.pc
say "Check: install"
make -s -C "$work/build-check/src" MAKEINFO=true install
make -s -C "$work/build-check" MAKEINFO=true install-includeHEADERS install-pcdataDATA
# check.pc names the Unix PIC variant; mingw has only libcheck.
sed -i 's/-lcheck_pic/-lcheck/' "$prefix/lib/pkgconfig/check.pc"
grep -q -- '-lcheck ' "$prefix/lib/pkgconfig/check.pc" || die "check.pc fix failed"
# check.h declares its message functions format(printf): on mingw GCC reads
# that as ms_printf and warns about the %jd of every ck_assert_int_* (fatal
# with -Werror), although Check formats with its own C99 rpl_vsnprintf.
sed -i 's/CK_ATTRIBUTE_FORMAT(printf, /CK_ATTRIBUTE_FORMAT(gnu_printf, /' "$prefix/include/check.h"
grep -q 'CK_ATTRIBUTE_FORMAT(gnu_printf, ' "$prefix/include/check.h" || die "check.h format fix failed"
# libcheck-0.dll (and programs built with check.pc's -pthread) need
# libwinpthread-1.dll at run time: keep it next to the other DLLs.
cp /usr/$host/lib/libwinpthread-1.dll "$prefix/bin/"

# ---- 5. APR ------------------------------------------------------------------
say "APR $apr_version: applying $(basename "$patch_file")"
(cd "$work/src/apr-$apr_version" && patch -p1 -s <"$patch_file")
say "APR: cmake (toolchain $(basename "$toolchain"))"
cmake -S "$work/src/apr-$apr_version" -B "$work/build-apr" \
      -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$prefix" -DAPR_BUILD_TESTAPR=OFF >"$work/apr-cmake.log" ||
    { cat "$work/apr-cmake.log" >&2; die "APR cmake failed"; }
say "APR: make -j$jobs"
make -s -C "$work/build-apr" -j"$jobs"
say "APR: install"
make -s -C "$work/build-apr" install >"$work/apr-install.log"
say "APR: writing $prefix/lib/pkgconfig/apr-1.pc"
mkdir -p "$prefix/lib/pkgconfig"
cat >"$prefix/lib/pkgconfig/apr-1.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
bindir=\${exec_prefix}/bin
includedir=\${prefix}/include

Name: APR
Description: The Apache Portable Runtime library (mingw-w64 cross build, DLL: \${bindir}/libapr-1.dll)
Version: $apr_version
Libs: -L\${libdir} -lapr-1
Libs.private: -lws2_32 -lmswsock -lrpcrt4 -liphlpapi
Cflags: -I\${includedir}
PC

wineserver -k 2>/dev/null || true
printf '%s\n' "$key" >"$stamp"
cache_ok || die "prefix incomplete after build"
if [ "${SCB_MINGW_KEEP_WORK:-0}" = 0 ]; then
    say "removing the work tree $work (~700 MB, mostly the Wine prefix; SCB_MINGW_KEEP_WORK=1 keeps it)"
    rm -rf "$work"
fi
say "done: $prefix (bin/libapr-1.dll, bin/libcheck-0.dll, lib/pkgconfig/{apr-1,check}.pc)"
