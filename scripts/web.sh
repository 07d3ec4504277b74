#!/usr/bin/env bash
# The web pages' needs.
#   scripts/web.sh assets    front-end libraries from the npm registry, into web/node_modules
#   scripts/web.sh browser   Debian's Chromium, which the browser tests drive (no download
#                            of a browser of the test tool's own)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHO=web
. "$ROOT/scripts/lib.sh"

case "${1:-}" in
  assets)
    command -v npm >/dev/null || apt_install nodejs npm
    npm ci --prefix "$ROOT/web" --no-audit --no-fund --loglevel=error
    ;;
  browser)
    [ -x /usr/bin/chromium ] || apt_install chromium
    ;;
  *)
    echo "usage: $0 assets|browser" >&2
    exit 2
    ;;
esac
