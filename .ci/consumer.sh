#!/usr/bin/env bash
# The library as a team gets it: pack it, install the tarball into examples/koa-app (a project of its own),
# check the package (publint, attw), typecheck the example with strict consumer settings (NodeNext, Bundler,
# browser), run its tests, start it with plain node on compiled JavaScript, and bundle its browser client.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\n== consumer: %s\n' "$*"; }
stamp() { date +%s; }

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

cd examples/koa-app
log "install the tarball into examples/koa-app"
rm -rf node_modules package-lock.json dist
start=$(stamp)
npm install --no-audit --no-fund --no-package-lock --loglevel=error
echo "install: $(( $(stamp) - start )) s, node_modules $(du -sh node_modules | cut -f1)"

log "typecheck (NodeNext strict, Bundler, browser)"
npm run --silent typecheck

log "the example's tests"
npx vitest run --reporter=dot

log "build, and start with plain node"
npm run --silent build
npm run --silent smoke

log "browser bundle without server code"
npm run --silent check-bundle
