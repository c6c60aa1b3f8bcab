#!/usr/bin/env bash
# Runs a command under another Node major, taken from the npm registry (the `node-<os>-<arch>`
# package: the official binary, no install script), without touching the system's Node.
#
#   scripts/with-node.sh 22 npm run -s test:scripts
#   scripts/with-node.sh 24 npm ci
#
# The binary is cached per major in $INVITE_EDGE_NODE_CACHE (default: the temp directory).
set -euo pipefail
major="${1:?usage: scripts/with-node.sh <major> <command> [args...]}"
shift
[ $# -gt 0 ] || { echo "usage: scripts/with-node.sh <major> <command> [args...]" >&2; exit 2; }
case "$major" in '' | *[!0-9]*) echo "not a Node major version: $major" >&2; exit 2 ;; esac

package="node-$(node -p 'process.platform')-$(node -p 'process.arch')"
dir="${INVITE_EDGE_NODE_CACHE:-${TMPDIR:-/tmp}}/invite-edge-node-$major"
if ! "$dir/bin/node" --version 2>/dev/null | grep -q "^v$major\."; then
  rm -rf "$dir"
  mkdir -p "$dir/bin"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "$package@$major" >&2
  ln -s "$dir/node_modules/$package/bin/node" "$dir/bin/node"
fi
echo "with-node: $("$dir/bin/node" --version) from the npm package $package@$major" >&2
PATH="$dir/bin:$PATH" exec "$@"
