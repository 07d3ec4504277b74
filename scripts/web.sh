#!/usr/bin/env bash
# The web pages' needs.
#   scripts/web.sh assets    front-end libraries from the npm registry, into web/node_modules
#   scripts/web.sh browser   Debian's Chromium, which the browser tests drive (no download
#                            of a browser of the test tool's own), and a Chinese font so
#                            that screenshots of the Chinese pages are readable
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
    missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    ;;
  *)
    echo "usage: $0 assets|browser" >&2
    exit 2
    ;;
esac
