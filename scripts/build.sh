#!/bin/bash
# Configure and build one flavour of webfuse.
#
#   bash scripts/build.sh [FLAVOUR] [BUILD_DIR]
#
# FLAVOUR:
#   default  plain RelWithDebInfo build with tests              (build/)
#   werror   like default, warnings are errors (-DWF_WERROR=ON)  (build/)
#   asan     AddressSanitizer + UBSan (-DWF_SANITIZE=ON)         (build-asan/)
#   fuzz     clang, libFuzzer targets only (-DWF_FUZZ=ON)        (build-fuzz/)
#   musl-static  webfuse and webfuse_provider linked statically against
#            musl, libfuse3 and a TLS-less libwebsockets, both built from
#            their Debian source packages under BUILD_DIR/deps by
#            scripts/musl-sysroot.sh (first run: about a minute; installs
#            musl-tools, meson, dpkg-dev with apt-get)  (build-musl/)
#            WF_MUSL_TLS=mbedtls: with wss:// (mbedTLS built the same way)
# Extra cmake arguments can be given in WF_CMAKE_ARGS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
flavour="${1:-default}"

case "$flavour" in
  default) dir_default=build;      args=() ;;
  werror)  dir_default=build;      args=(-DWF_WERROR=ON) ;;
  asan)    dir_default=build-asan; args=(-DWF_WERROR=ON -DWF_SANITIZE=ON) ;;
  fuzz)    dir_default=build-fuzz
           # The fuzz targets get -fsanitize=fuzzer from fuzz/CMakeLists.txt;
           # the library code they call gets coverage and sanitizers here.
           export CC="${CC:-clang}"
           args=(-DWF_FUZZ=ON -DWF_TESTS=OFF
                 "-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer") ;;
  musl-static) dir_default=build-musl; args=() ;;
  *) echo "build.sh: unknown flavour '$flavour' (default|werror|asan|fuzz|musl-static)" >&2; exit 2 ;;
esac

dir="${2:-$here/$dir_default}"
if [ "$flavour" = musl-static ]; then
  bash "$here/scripts/musl-sysroot.sh" "$dir/deps"
  export CC=musl-gcc PKG_CONFIG_LIBDIR="$dir/deps/sysroot/lib/pkgconfig"
  unset PKG_CONFIG_PATH
  args=(-DWF_WERROR=ON -DCMAKE_BUILD_TYPE=MinSizeRel -DWF_SHARED=OFF -DWF_TESTS=OFF -DWF_EXAMPLES=OFF
        "-DCMAKE_C_FLAGS=-isystem $dir/deps/kernel-include -ffunction-sections -fdata-sections"
        "-DCMAKE_EXE_LINKER_FLAGS=-static -Wl,--gc-sections")
  if [ "${WF_MUSL_TLS:-none}" = mbedtls ]; then
    # libwebsockets.pc does not name its TLS library; a static link needs it
    l="$dir/deps/sysroot/lib"
    args+=("-DCMAKE_C_STANDARD_LIBRARIES=$l/libmbedtls.a $l/libmbedx509.a $l/libmbedcrypto.a")
  fi
fi
jobs="${WF_JOBS:-2}"

# shellcheck disable=SC2206
extra=(${WF_CMAKE_ARGS:-})
echo "build.sh: flavour=$flavour dir=$dir"
mkdir -p "$dir"
cmake -S "$here" -B "$dir" "${args[@]}" "${extra[@]}" >"$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log" >&2; echo "build.sh: cmake configure failed" >&2; exit 1; }
targets=()
if [ "$flavour" = fuzz ]; then
  # only the fuzzers: the shared library cannot link against clang's
  # static sanitizer runtime, and nothing else is needed here
  for f in "$here"/fuzz/fuzz_*.c; do targets+=(--target "$(basename "$f" .c)"); done
fi
cmake --build "$dir" -j"$jobs" "${targets[@]}"
if [ "$flavour" = musl-static ]; then
  for p in webfuse webfuse_provider; do
    if [ -x "$dir/$p" ]; then
      strip -o "$dir/$p.stripped" "$dir/$p"
      echo "build.sh: $dir/$p: $(stat -c %s "$dir/$p.stripped") bytes stripped"
    fi
  done
fi
