# Shared by the project's scripts: `log`, and installing Debian packages (as root or with
# sudo). The caller sets WHO to name itself in the log.

log() { echo "${WHO:-scripts}: $*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
