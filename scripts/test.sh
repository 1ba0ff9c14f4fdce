#!/usr/bin/env bash
# Runs every test file (*.test.ts) with node's built-in test runner through tsx,
# after the static checks. Pass file paths to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"
if [ $# -gt 0 ]; then
  files=("$@")
else
  npx biome check .
  npx tsc --noEmit -p tsconfig.json
  mapfile -t files < <(find apps infra alerting loadtest scripts test -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
fi
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
