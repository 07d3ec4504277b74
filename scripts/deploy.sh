#!/usr/bin/env bash
# What checking deploy/ needs (tests/packaging/test_deploy_layout.py).
#   scripts/deploy.sh tools   nginx, unpacked from Debian's package into var/tools/nginx:
#                             not installed, never started as a service; the test runs it
#                             with a configuration of its own on loopback ports
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHO=deploy
. "$ROOT/scripts/lib.sh"

unpack_nginx() {
  local target="$ROOT/var/tools/nginx" work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  # Package lists may be missing on a fresh machine: refresh them once, then try again.
  if ! (cd "$work" && apt-get download nginx >/dev/null 2>&1); then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    (cd "$work" && apt-get download nginx >/dev/null)
  fi
  rm -rf "$target"
  mkdir -p "$target"
  dpkg -x "$work"/nginx_*.deb "$target"
  log "nginx $("$target/usr/sbin/nginx" -v 2>&1 | cut -d/ -f2) in ${target#"$ROOT"/}"
}

case "${1:-}" in
  tools) unpack_nginx ;;
  *)
    echo "usage: $0 tools" >&2
    exit 2
    ;;
esac
