# Shared part of the cross toolchain files next to this one: Debian's cross
# compiler gcc-${WF_TRIPLET}, and libfuse3/libwebsockets for the target found
# with pkg-config either
#  - in a sysroot directory, WF_SYSROOT (-DWF_SYSROOT=... or the environment;
#    made by scripts/debian-sysroot.sh ARCH DIR -> DIR/sysroot), or
#  - where Debian multiarch installs them (apt-get install libfuse3-dev:ARCH
#    ...), when WF_SYSROOT is empty.
# The C library comes from the cross compiler (libc6-dev-ARCH-cross).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${WF_TRIPLET}-gcc)

if(NOT DEFINED WF_SYSROOT AND DEFINED ENV{WF_SYSROOT})
  set(WF_SYSROOT $ENV{WF_SYSROOT})
endif()
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WF_TRIPLET WF_SYSROOT)

set(_wf_libdirs ${WF_SYSROOT}/usr/lib/${WF_TRIPLET} ${WF_SYSROOT}/lib/${WF_TRIPLET})
set(ENV{PKG_CONFIG_LIBDIR} "${WF_SYSROOT}/usr/lib/${WF_TRIPLET}/pkgconfig:${WF_SYSROOT}/usr/share/pkgconfig")
if(WF_SYSROOT)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${WF_SYSROOT})
  # the multiarch header directory (openssl/opensslconf.h, ...), which the
  # cross compiler searches only under /usr
  set(CMAKE_C_FLAGS_INIT "-isystem ${WF_SYSROOT}/usr/include/${WF_TRIPLET}")
endif()
unset(ENV{PKG_CONFIG_PATH})
# The target's shared libraries name others (libssl, libcap, ...) that the
# linker has to find too.
list(JOIN _wf_libdirs ":" _wf_rpath_link)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${_wf_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${_wf_rpath_link}")

set(CMAKE_FIND_ROOT_PATH /usr/${WF_TRIPLET} ${WF_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Tests run the programs; they are off when cross-compiling unless asked
# (-DWF_TESTS=ON), and then run under qemu-user.
find_program(WF_QEMU qemu-${CMAKE_SYSTEM_PROCESSOR}-static)
if(WF_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WF_QEMU} -L ${WF_SYSROOT}/)
endif()
