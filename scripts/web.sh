#!/usr/bin/env bash
# The web pages' needs.
#   scripts/web.sh assets    front-end libraries from the npm registry, into web/node_modules,
#                            then `vendor`
#   scripts/web.sh vendor    the files of them the pages load, copied into the package
#                            (rental/web/vendor, git-ignored), so that a wheel carries them
#   scripts/web.sh browser   Debian's Chromium, which the browser tests drive (no download
#                            of a browser of the test tool's own), and a Chinese font so
#                            that screenshots of the Chinese pages are readable
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHO=web
. "$ROOT/scripts/lib.sh"

# What the pages load (rental/web/static/*/index.html, app/sw.js) and what that loads in
# turn (Leaflet's CSS its marker images), by package: the folder it is built into, then
# its files, their licences with them. The server serves these packages only
# (rental/web/__init__.py, VENDORED).
VENDORED=(
  "leaflet leaflet/dist leaflet.js leaflet.css images ../LICENSE"
  "jsqr jsqr/dist jsQR.js ../LICENSE"
  "chart.js chart.js/dist chart.umd.min.js ../LICENSE.md"
  "leaflet.heat leaflet.heat/dist leaflet-heat.js ../LICENSE"
  "swagger-ui-dist swagger-ui-dist swagger-ui.css swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt LICENSE NOTICE"
)

vendor() {
  local target="$ROOT/rental/web/vendor" staging line package folder file
  staging=$(mktemp -d "$ROOT/rental/web/.vendor.XXXXXX")
  for line in "${VENDORED[@]}"; do
    read -r package folder files <<<"$line"
    mkdir -p "$staging/$package"
    for file in $files; do
      cp -R "$ROOT/web/node_modules/$folder/$file" "$staging/$package/"
    done
  done
  chmod 755 "$staging"
  rm -rf "$target"
  mv "$staging" "$target"
}

case "${1:-}" in
  assets)
    command -v npm >/dev/null || apt_install nodejs npm
    npm ci --prefix "$ROOT/web" --no-audit --no-fund --loglevel=error
    vendor
    ;;
  vendor)
    vendor
    ;;
  browser)
    missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    ;;
  *)
    echo "usage: $0 assets|vendor|browser" >&2
    exit 2
    ;;
esac
