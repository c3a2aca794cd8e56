#!/bin/bash
# THE demo command of webfuse:   bash scripts/demo.sh
# Installs dependencies, builds, then shows a directory being mounted over a
# WebSocket on this machine (127.0.0.1) and cleans everything up again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
build="${WF_BUILD_DIR:-$here/build}"

say() { echo; echo ">>> $*"; }

if [ "${WF_SKIP_DEPS:-0}" != 1 ]; then
  say "Installing dependencies (skipped quickly when already there)"
  bash scripts/deps.sh
fi
say "Building webfuse into $build"
bash scripts/build.sh default "$build" >/dev/null
echo "built: $build/webfuse and $build/webfuse_provider"

work="$(mktemp -d /tmp/webfuse-demo.XXXXXX)"
provided="$work/provided"
mnt="$work/mnt"
mkdir -p "$provided" "$mnt"
service_pid=""
provider_pid=""

cleanup() {
  set +e
  if [ -n "$provider_pid" ]; then kill "$provider_pid" 2>/dev/null; wait "$provider_pid" 2>/dev/null; fi
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null; fi
  # wait up to 5 s for the service, then make sure nothing stays mounted
  for _ in $(seq 50); do
    [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then kill -9 "$service_pid" 2>/dev/null; fi
  if grep -q " $mnt " /proc/self/mountinfo 2>/dev/null; then fusermount3 -u -z "$mnt" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

say "The 'user's machine' side: a directory with a few files in $provided"
echo "Hello from the provider side. This text is read over a WebSocket." > "$provided/hello.txt"
mkdir -p "$provided/firmware"
head -c 65536 /dev/urandom > "$provided/firmware/image.bin"
ln -s firmware/image.bin "$provided/latest.bin"
ls -l "$provided"

say "Starting the service (the 'device' side): FUSE mount at $mnt, WebSocket on port $port"
"$build/webfuse" -f --wf-port "$port" "$mnt" >"$work/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 100); do
  grep -q " $mnt " /proc/self/mountinfo && break
  kill -0 "$service_pid" 2>/dev/null || { cat "$work/service.log"; echo "service exited"; exit 1; }
  sleep 0.1
done
grep -q " $mnt " /proc/self/mountinfo || { cat "$work/service.log"; echo "mount did not appear"; exit 1; }
echo "Mounted. No provider is connected yet, so the mount is empty:"
ls -la "$mnt"

say "Starting the provider: it connects to ws://127.0.0.1:$port/ and offers $provided"
"$build/webfuse_provider" -u "ws://127.0.0.1:$port/" -p "$provided" >"$work/provider.log" 2>&1 &
provider_pid=$!
for _ in $(seq 100); do
  [ -e "$mnt/hello.txt" ] && break
  kill -0 "$provider_pid" 2>/dev/null || { cat "$work/provider.log"; echo "provider exited"; exit 1; }
  sleep 0.1
done
[ -e "$mnt/hello.txt" ] || { cat "$work/service.log" "$work/provider.log"; echo "files did not appear"; exit 1; }

say "The same files, now seen through the mount (every call goes over the WebSocket):"
ls -l "$mnt"
echo
echo "\$ cat $mnt/hello.txt"
cat "$mnt/hello.txt"
echo
echo "\$ sha256sum of the image, on the provider side and through the mount (symlink latest.bin):"
sha256sum "$provided/firmware/image.bin" "$mnt/latest.bin"

say "Stopping the provider: the mount stays, but is empty again"
kill "$provider_pid"; wait "$provider_pid" 2>/dev/null || true
provider_pid=""
sleep 0.5
ls -la "$mnt"

say "Stopping the service: it unmounts and exits"
kill "$service_pid"
wait "$service_pid" 2>/dev/null && echo "service exited cleanly" || echo "service exit status $?"
service_pid=""
grep -q " $mnt " /proc/self/mountinfo && echo "still mounted (cleanup will unmount)" || echo "unmounted"

say "Demo finished."
