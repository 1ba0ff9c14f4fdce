#!/usr/bin/env bash
# Generates the TypeScript types for proto/ with the same options the runtime
# loader uses (proto/src/loader.ts). Usage: proto-gen.sh [out-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-proto/src/generated}
rm -rf "$out"
npx proto-loader-gen-types --keepCase=false --longs=Number --enums=String --defaults --oneofs \
  --grpcLib=@grpc/grpc-js --includeDirs=proto --outDir="$out" feed/v1/feed.proto >/dev/null
