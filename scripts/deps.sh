#!/bin/bash
# Install everything webfuse needs to build, test, fuzz and demo on Debian 12.
# Run as root. Safe to rerun: the apt step is skipped when all packages are
# already installed, and npm only runs when playwright-core is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake pkg-config git
  libfuse3-dev fuse3
  libwebsockets-dev libssl-dev
  libcmocka-dev
  clang libclang-rt-14-dev
  python3
  nodejs
  chromium
  squashfs-tools openssl ca-certificates
  procps psmisc kmod util-linux
)

# Debian's nodejs does not ship npm, some other node builds do: only ask for
# the npm package when there is no npm command yet (the two may conflict).
if ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi

# shellcheck source=scripts/apt-ensure.sh
. "$here/scripts/apt-ensure.sh"
apt_ensure deps "${packages[@]}"

# FUSE needs /dev/fuse; allow_other needs user_allow_other for non-root users.
if [ ! -e /dev/fuse ]; then
  run_root modprobe fuse 2>/dev/null || true
fi
if [ -w /etc/fuse.conf ] && ! grep -q '^user_allow_other' /etc/fuse.conf; then
  echo user_allow_other >> /etc/fuse.conf
fi

# playwright-core drives the system chromium in the browser tests, typescript
# type-checks web/webfuse (js.typecheck); a project-local install
# (tests/browser/node_modules) that downloads no browser.
if command -v npm >/dev/null 2>&1; then
  if [ ! -d "$here/tests/browser/node_modules/playwright-core" ] ||
     [ ! -d "$here/tests/browser/node_modules/typescript" ]; then
    echo "deps: npm install in tests/browser"
    (cd "$here/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
      npm install --no-audit --no-fund --loglevel=error)
  else
    echo "deps: playwright-core already installed"
  fi
fi
