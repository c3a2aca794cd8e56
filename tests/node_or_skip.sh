#!/bin/sh
# ctest wrapper for the js and browser tests: runs node with ARGS, or exits 77
# (ctest SKIP_RETURN_CODE) with a message naming the install step when node,
# or a package the test imports, is missing.
#
#   node_or_skip.sh NODE [--needs PACKAGE DIR] ARGS...
#
# NODE: node as found by cmake ("node": look it up now). --needs: PACKAGE must
# be importable from DIR (where the test script lives).
node=$1
shift
if ! command -v "$node" >/dev/null 2>&1; then
  echo "SKIP: node not found: install Node.js (apt-get install nodejs, or scripts/deps.sh)"
  exit 77
fi
if [ "$1" = --needs ]; then
  package=$2 dir=$3
  shift 3
  if ! (cd "$dir" && "$node" --input-type=module -e "await import('$package')") >/dev/null 2>&1; then
    echo "SKIP: $package is not installed in $dir: run scripts/deps.sh" \
         "(or: cd $dir && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install)"
    exit 77
  fi
fi
exec "$node" "$@"
