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

# shellcheck source=scripts/apt-ensure.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/apt-ensure.sh"
apt_ensure "bench deps" "${packages[@]}"
