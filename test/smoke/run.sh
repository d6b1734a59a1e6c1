#!/usr/bin/env bash
# Packs the library, installs the tarball into throwaway consumer apps on NestJS 11 and 12, and runs
# consumer.js under plain node (NestJS 12 is ESM-only, which Jest on Node 20 cannot load).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
npm run build --silent
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"

install_consumer() {
  local dir=$1; shift
  mkdir -p "$dir"
  cp "$root/test/smoke/consumer.js" "$dir/"
  (cd "$dir" && echo '{"name":"consumer","version":"1.0.0","private":true}' > package.json \
    && npm install --no-audit --no-fund --loglevel=error "$tarball" "$@" >/dev/null)
}

install_consumer "$work/nest11" @nestjs/common@^11 @nestjs/core@^11 @nestjs/platform-express@^11 @nestjs/platform-fastify@^11 \
  @nestjs/event-emitter@^3 rxjs@^7 reflect-metadata@^0.2 class-validator@^0.14 class-transformer@^0.5
install_consumer "$work/nest12" @nestjs/common@^12 @nestjs/core@^12 @nestjs/platform-express@^12 @nestjs/platform-fastify@^12 \
  @nestjs/event-emitter@^12 rxjs@^7 reflect-metadata@^0.2 class-validator@^0.15 class-transformer@^0.5

for nest in 11 12; do
  echo "smoke: NestJS $(node -p "require('$work/nest$nest/node_modules/@nestjs/core/package.json').version") from the packed tarball"
  (cd "$work/nest$nest" && node --no-warnings consumer.js)
done
