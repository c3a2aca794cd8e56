#!/bin/bash
# Builds libfuse3 and libwebsockets as static musl libraries from their
# Debian source packages, into a sysroot that scripts/build.sh musl-static
# compiles webfuse against. Nothing is vendored: the sources come from
# `apt-get source` (a deb-src entry for the running suite is added if none
# exists), and everything is built under DIR.
#
#   bash scripts/musl-sysroot.sh DIR      -> DIR/sysroot/{include,lib}
#
# libwebsockets is built without TLS (ws:// only), unless WF_MUSL_TLS=mbedtls:
# then mbedTLS is built the same way (a third source package) and
# libwebsockets uses it, for wss:// and --wf-cert/--wf-key.
set -euo pipefail

dir="$(mkdir -p "$1" && cd "$1" && pwd)"
src="$dir/src"
sysroot="$dir/sysroot"
jobs="${WF_JOBS:-2}"
tls="${WF_MUSL_TLS:-none}"
case "$tls" in none|mbedtls) ;; *) echo "musl-sysroot: WF_MUSL_TLS is none or mbedtls" >&2; exit 2 ;; esac

if [ -f "$sysroot/.done-$tls" ]; then
  echo "musl-sysroot: $sysroot is complete (TLS: $tls)"
  exit 0
fi
rm -f "$sysroot"/.done-*

need=()
command -v musl-gcc >/dev/null || need+=(musl-tools)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
command -v meson >/dev/null || need+=(meson)
command -v ninja >/dev/null || need+=(ninja-build)
command -v cmake >/dev/null || need+=(cmake)
[ -d /usr/include/linux ] || need+=(linux-libc-dev)

# apt-get source needs a deb-src entry; add one for the suite the machine
# runs (bookworm on Debian 12) if there is none.
update=0
if ! grep -rqsE '^(Types: *deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  cat >/etc/apt/sources.list.d/webfuse-src.sources <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  update=1
fi
if [ $update = 1 ] || [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$src" "$sysroot"
cd "$src"
pkgs=(fuse3 libwebsockets)
[ "$tls" = mbedtls ] && pkgs+=(mbedtls)
for pkg in "${pkgs[@]}"; do
  ls -d "$src/$pkg"-*/ >/dev/null 2>&1 || apt-get source -qq "$pkg" >/dev/null
done
fuse_src="$(ls -d "$src"/fuse3-*/ | head -1)"
lws_src="$(ls -d "$src"/libwebsockets-*/ | head -1)"

# musl-gcc brings the C library headers only; the kernel's (linux/, asm/)
# come from linux-libc-dev through a directory of links.
kinc="$dir/kernel-include"
mkdir -p "$kinc"
ln -sfn /usr/include/linux "$kinc/linux"
ln -sfn /usr/include/asm-generic "$kinc/asm-generic"
ln -sfn "/usr/include/$(gcc -print-multiarch)/asm" "$kinc/asm"
export CC=musl-gcc
export CFLAGS="-Os -ffunction-sections -fdata-sections -isystem $kinc"

echo "musl-sysroot: libfuse3 from $fuse_src"
rm -rf "$dir/build-fuse"
meson setup "$dir/build-fuse" "$fuse_src" --prefix "$sysroot" --libdir lib \
  --default-library static -Dutils=false -Dexamples=false -Dtests=false \
  -Duseroot=false -Dinitscriptdir= -Dudevrulesdir="$dir/unused" >"$dir/fuse.log" 2>&1 ||
  { tail -30 "$dir/fuse.log"; exit 1; }
ninja -C "$dir/build-fuse" -j"$jobs" install >>"$dir/fuse.log" 2>&1 || { tail -30 "$dir/fuse.log"; exit 1; }

lws_tls=(-DLWS_WITH_SSL=OFF)
if [ "$tls" = mbedtls ]; then
  mbed_src="$(ls -d "$src"/mbedtls-*/ | head -1)"
  echo "musl-sysroot: mbedTLS from $mbed_src"
  rm -rf "$dir/build-mbedtls"
  cmake -S "$mbed_src" -B "$dir/build-mbedtls" -DCMAKE_INSTALL_PREFIX="$sysroot" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_C_COMPILER=musl-gcc -DENABLE_PROGRAMS=OFF \
    -DENABLE_TESTING=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
    >"$dir/mbedtls.log" 2>&1 || { tail -30 "$dir/mbedtls.log"; exit 1; }
  cmake --build "$dir/build-mbedtls" -j"$jobs" --target install >>"$dir/mbedtls.log" 2>&1 ||
    { tail -30 "$dir/mbedtls.log"; exit 1; }
  l="$sysroot/lib"
  lws_tls=(-DLWS_WITH_SSL=ON -DLWS_WITH_MBEDTLS=ON -DLWS_MBEDTLS_INCLUDE_DIRS="$sysroot/include"
           "-DLWS_MBEDTLS_LIBRARIES=$l/libmbedtls.a;$l/libmbedx509.a;$l/libmbedcrypto.a")
fi

echo "musl-sysroot: libwebsockets (TLS: $tls) from $lws_src"
rm -rf "$dir/build-lws"
cmake -S "$lws_src" -B "$dir/build-lws" -DCMAKE_INSTALL_PREFIX="$sysroot" \
  -DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_C_COMPILER=musl-gcc \
  "${lws_tls[@]}" -DLWS_WITH_STATIC=ON -DLWS_WITH_SHARED=OFF \
  -DLWS_WITHOUT_TESTAPPS=ON -DLWS_WITH_MINIMAL_EXAMPLES=OFF \
  -DLWS_WITH_HTTP2=OFF -DLWS_IPV6=ON -DLWS_UNIX_SOCK=ON -DLWS_WITH_ZLIB=OFF \
  -DLWS_WITH_LIBUV=OFF -DLWS_WITH_LIBEV=OFF -DLWS_WITH_GLIB=OFF \
  >"$dir/lws.log" 2>&1 || { tail -30 "$dir/lws.log"; exit 1; }
cmake --build "$dir/build-lws" -j"$jobs" --target install >>"$dir/lws.log" 2>&1 ||
  { tail -30 "$dir/lws.log"; exit 1; }

touch "$sysroot/.done-$tls"
echo "musl-sysroot: done: $sysroot"
