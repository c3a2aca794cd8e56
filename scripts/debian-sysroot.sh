#!/bin/bash
# Unpacks Debian's libfuse3 and libwebsockets (with what they need to link
# and run) for another architecture into a sysroot directory, for a cross
# build with cmake/toolchains/*.cmake and for running the result under
# qemu-user. The packages are not installed: Debian 12's
# libwebsockets-dev:arm64 cannot be installed next to the amd64 one (their
# lws_config.h differ), so they are fetched with apt-get download against a
# private package index and unpacked with dpkg-deb.
#
#   bash scripts/debian-sysroot.sh ARCH DIR     (ARCH: arm64, armhf, ...)
#   -> DIR/sysroot; the cross compiler gcc-<triplet> is installed if missing
set -euo pipefail

arch="$1"
dir="$(mkdir -p "$2" && cd "$2" && pwd)"
sysroot="$dir/sysroot"
[ -f "$sysroot/.done" ] && { echo "debian-sysroot: $sysroot is complete"; exit 0; }

case "$arch" in
  arm64) triplet=aarch64-linux-gnu ;;
  armhf) triplet=arm-linux-gnueabihf ;;
  *) triplet="$(dpkg-architecture -a "$arch" -q DEB_HOST_MULTIARCH)" ;;
esac
command -v "$triplet-gcc" >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "gcc-$triplet" >/dev/null

# A package index for ARCH alone, kept under DIR: the machine's dpkg and
# apt configuration are left as they are.
apt_opts=(-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
          -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache"
          -o "Dir::State::Status=$dir/apt/status" -o "APT::Sandbox::User=root")
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
touch "$dir/apt/status"
apt-get -qq "${apt_opts[@]}" update

# Headers and link-time files, and the run-time libraries they pull in
# (libc6 too, so that qemu-user -L DIR/sysroot finds a whole system), and
# cmocka for the unit tests (run under qemu-user with -DWF_TESTS=ON).
pkgs=(libfuse3-dev libfuse3-3 libwebsockets-dev libwebsockets17 libcap-dev libcap2
      libssl-dev libssl3 zlib1g libc6 libgcc-s1 libcmocka-dev libcmocka0)
(cd "$dir/debs" && apt-get -qq "${apt_opts[@]}" download "${pkgs[@]/%/:$arch}")
rm -rf "$sysroot"
mkdir -p "$sysroot"
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
# Absolute links (libfuse3.so -> /lib/...) would lead the linker to the
# host's files: point them into the sysroot.
find "$sysroot" -type l -lname '/*' | while read -r link; do
  ln -sfn "$sysroot$(readlink "$link")" "$link"
done
touch "$sysroot/.done"
echo "debian-sysroot: $arch ($triplet) in $sysroot"
