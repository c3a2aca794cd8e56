#!/bin/sh
# webfuse authenticator: accepts a provider whose token's SHA-256 digest is
# listed in a file, so the server keeps no token in plain text and each
# provider (or person) can have its own token, revoked by deleting its line.
#
#   printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1 >> /etc/webfuse/token-hashes
#   webfuse --wf-authenticator /path/to/token-sha256.sh --wf-auth-header X-Auth-Token ...
#
# The file: one hex digest per line; empty lines and lines starting with #
# are ignored. webfuse runs this program with an empty environment (PATH
# only), so edit HASH_FILE below; WEBFUSE_TOKEN_HASHES overrides it for
# manual tests. Exit status 0 accepts.
set -u
HASH_FILE=${WEBFUSE_TOKEN_HASHES:-/etc/webfuse/token-hashes}
MAX=4096

[ -r "$HASH_FILE" ] || exit 1
got=$(head -c "$MAX" | tr -d '\r\n')
[ -n "$got" ] || exit 1
hash=$(printf '%s' "$got" | sha256sum | cut -d' ' -f1)
# Compare digests only: how long this takes depends on the digest of the
# guess, not on how close the guess is to a token.
while IFS= read -r line || [ -n "$line" ]; do
    line=$(printf '%s' "$line" | tr -d ' \t\r' | tr 'A-F' 'a-f')
    case $line in
        '' | '#'*) continue ;;
    esac
    [ "$line" = "$hash" ] && exit 0
done < "$HASH_FILE"
exit 1
