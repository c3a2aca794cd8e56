# 32-bit ARM Linux with hardware floating point (glibc, Debian armhf:
# ARMv7-A and later), e.g. older Raspberry Pi OS and many routers:
#   apt-get install gcc-arm-linux-gnueabihf
#   bash scripts/debian-sysroot.sh armhf /tmp/armhf
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake \
#         -DWF_SYSROOT=/tmp/armhf/sysroot
# See docs/embedded.md.
set(CMAKE_SYSTEM_PROCESSOR arm)
set(WF_TRIPLET arm-linux-gnueabihf)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
