#!/bin/sh
# webfuse authenticator: accepts a provider whose token equals the one in a
# file. Use with
#   webfuse --wf-authenticator /path/to/token-file.sh --wf-auth-header X-Auth-Token ...
#
# webfuse runs the program without arguments and with an empty environment
# (PATH only), writes the token to its stdin and accepts the provider when it
# exits with 0. So the token file is fixed here: edit TOKEN_FILE below (or
# copy this script). WEBFUSE_TOKEN_FILE overrides it for manual tests.
#
# The file holds the token on its first line (keep it mode 0600). Both
# tokens are compared by their SHA-256 digests, so the time the comparison
# takes says nothing about how much of a guess was right.
set -u
TOKEN_FILE=${WEBFUSE_TOKEN_FILE:-/etc/webfuse/token}
MAX=4096

digest() { sha256sum | cut -d' ' -f1; }

[ -r "$TOKEN_FILE" ] || exit 1
want=$(head -n 1 "$TOKEN_FILE" | tr -d '\r\n')
got=$(head -c "$MAX" | tr -d '\r\n')
# An empty token never matches (an empty file is a configuration error).
[ -n "$want" ] && [ -n "$got" ] || exit 1
[ "$(printf '%s' "$want" | digest)" = "$(printf '%s' "$got" | digest)" ] || exit 1
exit 0
