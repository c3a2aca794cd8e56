#!/bin/bash
# Opt-in portability checks for embedded targets (docs/embedded.md):
#   1. -DWF_PROVIDER=OFF and -DWF_SERVICE=OFF builds compile (warnings are errors);
#   2. the musl static build (scripts/build.sh musl-static) compiles both
#      sides against a TLS-less libwebsockets, and against one with mbedTLS;
#   3. an arm64 cross build (cmake/toolchains/aarch64-linux-gnu.cmake against
#      Debian's arm64 packages, scripts/debian-sysroot.sh) compiles, and its
#      unit tests pass under qemu-user;
#   4. ctest -L portability on the host build: the musl static services mount
#      and serve (ws://, and wss:// with mbedTLS), the arm64 service and
#      provider read a file through the mount under qemu-user.
#
#   bash scripts/portability.sh [WORK_DIR]     (default: build-portability/)
#   WF_PORTABILITY_TLS=0 leaves out the musl build with mbedTLS (wss://)
#
# Installs what it needs with apt-get (musl-tools, meson, dpkg-dev,
# gcc-aarch64-linux-gnu, qemu-user-static). Timings: see docs/embedded.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mkdir -p "${1:-$here/build-portability}" && cd "${1:-$here/build-portability}" && pwd)"
jobs="${WF_JOBS:-2}"
host="${WF_BUILD_DIR:-$here/build}"

step() { printf '\nportability: == %s (%ds so far)\n' "$*" "$SECONDS"; }
quiet() { local log="$1"; shift; "$@" >"$log" 2>&1 || { tail -40 "$log" >&2; echo "portability: failed: $*" >&2; exit 1; }; }

for side in PROVIDER SERVICE; do
  step "-DWF_$side=OFF"
  d="$work/no-$(echo "$side" | tr A-Z a-z)"
  quiet "$d.log" cmake -S "$here" -B "$d" -DWF_WERROR=ON "-DWF_$side=OFF"
  quiet "$d.log" cmake --build "$d" -j"$jobs"
done

step "musl static, libwebsockets without TLS"
bash "$here/scripts/build.sh" musl-static "$work/musl"
step "musl static, libwebsockets with mbedTLS"
if [ "${WF_PORTABILITY_TLS:-1}" = 1 ]; then
  WF_MUSL_TLS=mbedtls bash "$here/scripts/build.sh" musl-static "$work/musl-tls"
fi

step "arm64 cross build (Debian multiarch packages in a sysroot)"
command -v qemu-aarch64-static >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null
bash "$here/scripts/debian-sysroot.sh" arm64 "$work/arm64"
quiet "$work/arm64.log" cmake -S "$here" -B "$work/arm64/build" -DWF_WERROR=ON -DWF_TESTS=ON \
  -DCMAKE_TOOLCHAIN_FILE="$here/cmake/toolchains/aarch64-linux-gnu.cmake" -DWF_SYSROOT="$work/arm64/sysroot"
quiet "$work/arm64.log" cmake --build "$work/arm64/build" -j"$jobs"
step "arm64 unit tests under qemu-user"
ctest --test-dir "$work/arm64/build" -L unit --output-on-failure

step "host build for the portability tests"
bash "$here/scripts/build.sh" werror "$host" >/dev/null
step "portability tests"
WF_MUSL_DIR="$work/musl" WF_CROSS_DIR="$work/arm64/build" WF_CROSS_SYSROOT="$work/arm64/sysroot" \
  WF_CROSS_QEMU=qemu-aarch64-static ctest --test-dir "$host" -L portability --output-on-failure
if [ "${WF_PORTABILITY_TLS:-1}" = 1 ]; then
  WF_MUSL_DIR="$work/musl-tls" ctest --test-dir "$host" -L portability -R musl --output-on-failure
fi

echo "portability: all checks passed in ${SECONDS}s"
