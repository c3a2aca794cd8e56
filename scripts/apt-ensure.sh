# Sourced by scripts/deps.sh and bench/deps.sh.
# apt_ensure LABEL PACKAGE...: installs the Debian packages that are missing
# (apt-get update first); does nothing when all are installed.

run_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_ensure() {
  local label="$1"; shift
  local missing=() p status
  for p in "$@"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    if [ "$status" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "$label: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    run_root apt-get -o DPkg::Lock::Timeout=900 update
    run_root apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${missing[@]}"
  else
    echo "$label: all Debian packages already installed"
  fi
}
