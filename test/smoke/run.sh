#!/usr/bin/env bash
# Packs the library from a clean clone (HEAD plus the working tree's changes: no dist/, nothing ignored),
# checks what the tarball ships, installs it into throwaway consumer apps on NestJS 11 and 12 (each with
# the real @nestjs/terminus and @nestjs/swagger of its major), and runs consumer.js under plain node
# (NestJS 12 is ESM-only, which Jest on Node 20 cannot load).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm_flags=(--no-audit --no-fund --loglevel=error)

# Runs a step with its output in a log, shown only if it fails. (Inside it `set -e` is off, hence the `|| return`s.)
step() {
  local name=$1; shift
  if ! "$@" >"$work/$name.log" 2>&1; then
    echo "smoke: $name failed:" >&2
    cat "$work/$name.log" >&2
    return 1
  fi
}

# A clone of the exact commit (also when HEAD is detached, as in CI), then every change a commit of the
# working tree would make, untracked files included.
src="$work/src"
git clone --quiet --no-checkout "$root" "$src"
git -C "$src" -c advice.detachedHead=false checkout --quiet "$(git -C "$root" rev-parse HEAD)"
{ git -C "$root" diff -z --name-only --no-renames HEAD; git -C "$root" ls-files -z --others --exclude-standard; } |
  while IFS= read -r -d '' path; do
    if [ -e "$root/$path" ] || [ -L "$root/$path" ]; then
      mkdir -p "$src/$(dirname "$path")"
      cp -pP "$root/$path" "$src/$path"
    else
      rm -f "$src/$path"
    fi
  done

build_clone() {
  cd "$src" || return
  npm ci "${npm_flags[@]}" || return
  # `prepare` built dist/ on install (what `npm install <git url>` relies on) …
  test -f dist/index.js || { echo 'npm ci did not build dist/ (prepare)'; return 1; }
  # … and `npm pack` builds it again by itself (prepack), so a stale or missing dist/ never ships.
  rm -rf dist || return
  npm pack --silent --pack-destination "$work" >"$work/tarball-name"
}

# The consumers' own dependencies do not wait for the tarball.
install_deps() {
  local dir="$work/$1"; shift
  mkdir -p "$dir" && cp "$root/test/smoke/consumer.js" "$dir/" && cd "$dir" || return
  echo '{"name":"consumer","version":"1.0.0","private":true}' >package.json || return
  npm install "${npm_flags[@]}" "$@"
}

pids=()
step clone build_clone & pids+=($!)
step nest11 install_deps nest11 @nestjs/common@^11 @nestjs/core@^11 @nestjs/platform-express@^11 @nestjs/platform-fastify@^11 \
  @nestjs/event-emitter@^3 @nestjs/axios@^4 @nestjs/config@^4 @nestjs/terminus@^11 @nestjs/swagger@^11 \
  axios@^1 rxjs@^7 reflect-metadata@^0.2 class-validator@^0.14 class-transformer@^0.5 &
pids+=($!)
step nest12 install_deps nest12 @nestjs/common@^12 @nestjs/core@^12 @nestjs/platform-express@^12 @nestjs/platform-fastify@^12 \
  @nestjs/event-emitter@^12 @nestjs/axios@^12 @nestjs/config@^12 @nestjs/terminus@^12 @nestjs/swagger@^12 \
  axios@^1 rxjs@^7 reflect-metadata@^0.2 class-validator@^0.15 class-transformer@^0.5 &
pids+=($!)
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] || exit 1

tarball="$work/$(tail -n 1 "$work/tarball-name")"
listing=$(tar -tzf "$tarball")
problems=()
for file in dist/index.js dist/index.d.ts dist/config/index.js dist/testing/index.js dist/redis/index.js dist/postgres/index.js dist/terminus/index.js README.md LICENSE; do
  grep -qxF "package/$file" <<<"$listing" || problems+=("the tarball lacks $file")
done
# Every entry point the packed package.json declares is shipped, whichever entry points there are.
mkdir -p "$work/packed" && tar -xzf "$tarball" -C "$work/packed" package/package.json
while IFS= read -r target; do
  grep -qxF "package/${target#./}" <<<"$listing" || problems+=("the tarball lacks $target, named in package.json")
done < <(node -e '
  const pkg = require(process.argv[1]);
  const targets = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((t) => (typeof t === "string" ? [t] : Object.values(t)))];
  for (const paths of Object.values(pkg.typesVersions?.["*"] ?? {})) targets.push(...paths);
  console.log(targets.filter(Boolean).join("\n"));
' "$work/packed/package/package.json")
# Only what the files list means to ship: no sources, tests or source maps.
while IFS= read -r extra; do
  problems+=("the tarball ships ${extra#package/}")
done < <(grep -E '\.ts$|\.map$|^package/(lib|test|sample|bench|soak|stress)/' <<<"$listing" | grep -vE '\.d\.ts$' || true)
if [ "${#problems[@]}" -gt 0 ]; then
  printf 'smoke: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "smoke: $(basename "$tarball") packed from a clean clone ($(grep -c '' <<<"$listing") files, every entry point present)"

pids=()
for nest in 11 12; do
  (cd "$work/nest$nest" && step "nest$nest-tarball" npm install "${npm_flags[@]}" "$tarball") & pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] || exit 1

for nest in 11 12; do
  versions=$(cd "$work/nest$nest" && node -p '["core", "terminus", "swagger"].map((name) => require(`@nestjs/${name}/package.json`).version).join(" ")')
  read -r core terminus swagger <<<"$versions"
  echo "smoke: NestJS $core (@nestjs/terminus $terminus, @nestjs/swagger $swagger) from the packed tarball"
  (cd "$work/nest$nest" && node --no-warnings consumer.js)
done
