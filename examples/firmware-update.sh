#!/bin/sh
# Device side of the browser firmware flow: a person opens the device's page
# (served by `webfuse --wf-docroot web/ ...`), picks update.img and starts
# sharing. This script waits for the image to show up in the webfuse mount,
# checks its sha256, loop-mounts the squashfs image read-only straight from
# the mount (no copy onto the device), lists it and unmounts again.
#
# usage: firmware-update.sh MOUNTPOINT SHA256 [WAIT_SECONDS (120)] [IMAGE_NAME (update.img)]
#
# A real updater would install from "$dir" where this script lists it.
set -eu

usage() {
    echo "usage: $0 MOUNTPOINT SHA256 [WAIT_SECONDS] [IMAGE_NAME]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
mnt=$1
want=$(printf '%s' "$2" | tr 'A-F' 'a-f')
wait_s=${3:-120}
name=${4:-update.img}
image="$mnt/$name"

case $want in
    *[!0-9a-f]* | "") echo "firmware-update: SHA256 must be 64 hex digits" >&2; exit 2 ;;
esac
[ ${#want} -eq 64 ] || { echo "firmware-update: SHA256 must be 64 hex digits" >&2; exit 2; }
case $wait_s in
    *[!0-9]* | "") usage ;;
esac

# Every access to the mount is bounded: a provider that vanishes makes
# requests fail with EIO after the service's timeout, but never trust that.
bounded() {
    timeout --kill-after=5 "$@"
}

echo "firmware-update: waiting up to ${wait_s}s for $image"
deadline=$(( $(date +%s) + wait_s ))
until bounded 10 test -f "$image"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "firmware-update: $image did not appear within ${wait_s}s" >&2
        exit 1
    fi
    sleep 1
done

size=$(bounded 10 stat -c %s "$image")
echo "firmware-update: found $name ($size bytes), checking sha256"
# The device reads the image from the person's computer once for the check;
# the page shows how far it got.
sum=$(bounded 600 sha256sum "$image") || {
    echo "firmware-update: reading $image failed" >&2
    exit 1
}
got=${sum%% *}
if [ "$got" != "$want" ]; then
    echo "firmware-update: sha256 mismatch: got $got, want $want" >&2
    exit 1
fi
echo "firmware-update: sha256 ok"

dir=$(mktemp -d "${TMPDIR:-/tmp}/firmware-update.XXXXXX")
cleanup() {
    if mountpoint -q "$dir" 2>/dev/null; then
        umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
    fi
    rmdir "$dir" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Loop-mount straight from the webfuse mount: the kernel reads the blocks it
# needs through FUSE, on demand.
if ! bounded 60 mount -t squashfs -o loop,ro "$image" "$dir"; then
    echo "firmware-update: cannot mount $image as squashfs" >&2
    exit 1
fi
echo "firmware-update: mounted $name read-only at $dir; contents:"
(cd "$dir" && bounded 60 find . -mindepth 1 | sort)
# ... a real updater would verify and install from "$dir" here ...
bounded 60 umount "$dir"
echo "firmware-update: done, unmounted"
