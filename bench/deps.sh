#!/bin/bash
# Opt-in extras for bench/run (not needed to build or test webfuse):
#   sshfs + openssh-server  -> the sshfs-over-loopback comparison
#   gnuplot-nox             -> the PNG chart
#   openssh-client          -> ssh-keygen for the temporary keys
# bench/run starts its own sshd on 127.0.0.1 with a temporary config and keys;
# this script does not enable or start the system's sshd.
# Run as root (or with sudo). Safe to rerun.
set -euo pipefail

packages=(sshfs openssh-server openssh-client gnuplot-nox procps fuse3)

missing=()
for p in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  if [ "$status" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

run_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  run_root apt-get -o DPkg::Lock::Timeout=900 update
  run_root apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${missing[@]}"
else
  echo "bench deps: all packages already installed"
fi
