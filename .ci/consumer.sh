#!/usr/bin/env bash
# The library as a team gets it: pack it, install the tarball into examples/koa-app (a project of its own, with
# its own users: no argon2), check the package (publint, attw), typecheck the example with strict consumer
# settings (NodeNext, Bundler, browser) on TypeScript 5.9 and the newest, run its tests, start it with plain
# node on compiled JavaScript, and bundle its browser client; then the example again on the oldest tRPC the
# peer range admits; then a second, small consumer on Gatehouse's built-in accounts (which installs argon2).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\n== consumer: %s\n' "$*"; }
stamp() { date +%s; }

# TYPESCRIPT_NEWEST, TRPC_OLDEST: the versions checked beside the checkout's own.
source .ci/pins

# install_quietly <log>: npm install that fails on any warning (a deprecated package, an install script not
# covered by allowScripts): a team's first install of Gatehouse should print nothing to worry about.
install_quietly() {
  local out=$1
  npm install --no-audit --no-fund --no-package-lock --loglevel=warn >"$out" 2>&1 || { cat "$out" >&2; return 1; }
  if grep -i '^npm warn' "$out"; then
    echo "the install above warned" >&2
    return 1
  fi
}

log "npm run check:package (publint, attw)"
if ! npm run --silent check:package >.pack-check.log 2>&1; then cat .pack-check.log >&2; rm -f .pack-check.log; exit 1; fi
rm -f .pack-check.log

log "npm pack"
rm -rf .pack && mkdir -p .pack
tarball=$(npm pack --silent --pack-destination .pack | tail -1)
mv ".pack/$tarball" .pack/koa-gatehouse.tgz
files=$(tar -tzf .pack/koa-gatehouse.tgz | wc -l)
size=$(du -k .pack/koa-gatehouse.tgz | cut -f1)
echo "tarball: $tarball, ${size} kB, ${files} files"
if tar -tzf .pack/koa-gatehouse.tgz | grep -E '^package/(test|bench|\.ci|examples|web|server/reference)/|\.test\.' ; then
  echo "the tarball holds files a user does not run" >&2
  exit 1
fi

log "TypeScript $TYPESCRIPT_NEWEST (the newest) for the second typecheck"
mkdir -p .pack/typescript-newest
echo '{"private":true}' >.pack/typescript-newest/package.json
(cd .pack/typescript-newest && npm install --silent --no-audit --no-fund --no-package-lock "typescript@$TYPESCRIPT_NEWEST")
newest_tsc="$PWD/.pack/typescript-newest/node_modules/.bin/tsc"

cd examples/koa-app
log "install the tarball into examples/koa-app (its own users: no argon2; no install warnings)"
rm -rf node_modules package-lock.json dist
start=$(stamp)
install_quietly ../../.pack/example-install.log
echo "install: $(( $(stamp) - start )) s, node_modules $(du -sh node_modules | cut -f1)"
if [ -e node_modules/argon2 ]; then
  echo "argon2 is installed in a project that brings its own users: $(npm ls argon2 2>&1 | tail -n +2)" >&2
  exit 1
fi

log "typecheck (NodeNext strict, Bundler, browser) with TypeScript $(npx tsc --version | cut -d' ' -f2) and $("$newest_tsc" --version | cut -d' ' -f2)"
npm run --silent typecheck
TSC="$newest_tsc" npm run --silent typecheck

log "the example's tests"
npx vitest run --reporter=dot

log "build, and start with plain node"
npm run --silent build
npm run --silent smoke

log "browser bundle without server code"
npm run --silent check-bundle

log "the example on tRPC $TRPC_OLDEST (the oldest the peer range admits): typecheck and tests"
npm install --silent --no-audit --no-fund --no-package-lock --no-save "@trpc/server@$TRPC_OLDEST" "@trpc/client@$TRPC_OLDEST"
[ "$(node -p "require('@trpc/server/package.json').version")" = "$TRPC_OLDEST" ] || { echo "expected @trpc/server $TRPC_OLDEST" >&2; exit 1; }
# tRPC 11.22's own declarations fail skipLibCheck: false by themselves (its ws adapter's types import 'ws'),
# with or without Gatehouse: the app is checked against them with skipLibCheck. Gatehouse's sources are
# checked against this tRPC in full by .ci/with-trpc (.ci/run).
TSC_FLAGS=--skipLibCheck npm run --silent typecheck
npx vitest run --reporter=dot
cd ../..

log "a second consumer on the built-in accounts (argon2 installed, as the README says)"
cp -R .ci/builtin-consumer .pack/builtin-consumer
cd .pack/builtin-consumer
install_quietly ../builtin-install.log
npm run --silent check
