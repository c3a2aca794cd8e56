# 64-bit ARM Linux (glibc), e.g. Raspberry Pi 4/5 and most arm64 gateways:
#   apt-get install gcc-aarch64-linux-gnu
#   bash scripts/debian-sysroot.sh arm64 /tmp/arm64
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DWF_SYSROOT=/tmp/arm64/sysroot
# See docs/embedded.md.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(WF_TRIPLET aarch64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
