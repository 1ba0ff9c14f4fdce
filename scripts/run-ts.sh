#!/usr/bin/env bash
# Runs a TypeScript entry point on the Node the project pins (.node-version):
# the one `npm run setup` installs into .tools/bin, else the machine's node if
# its major version matches. `npx tsx` would take whatever node is first on
# PATH, which is how the drill once ran on Node 20 beside a Node 24 suite.
#   bash scripts/run-ts.sh FILE [ARGS...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want=$(cut -d. -f1 "$root/.node-version")
node="$root/.tools/bin/node"
[ -x "$node" ] || node=$(command -v node || true)
have=$("${node:-false}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)
if [ "$have" != "$want" ]; then
  echo "scripts/run-ts.sh: needs Node $want (.node-version), found ${have} at ${node:-nowhere}: run \`npm run setup\`" >&2
  exit 1
fi
exec "$node" --import tsx "$@"
