#!/usr/bin/env bash
# Starts the project-local PostgreSQL/PostGIS cluster and Mosquitto broker under var/,
# unless DATABASE_URL / MQTT_URL point at servers of their own. Writes var/env.sh,
# which the Makefile sources so every command talks to the same services.
#   scripts/services.sh start|stop
# The fault tests (tests/faults) stop and start each service on its own:
#   scripts/services.sh stop-postgres|start-postgres|stop-mosquitto|start-mosquitto|restart-mosquitto
# These act on the project-local servers only; set RENTAL_PG_PORT / RENTAL_MQTT_PORT as for start.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR="$ROOT/var"
PG_PORT=${RENTAL_PG_PORT:-55432}
MQTT_PORT=${RENTAL_MQTT_PORT:-18830}
mkdir -p "$VAR/log" "$VAR/secrets"
chmod 700 "$VAR/secrets"

WHO=services
. "$ROOT/scripts/lib.sh"

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true; }

ensure_postgres_packages() {
  local bindir major
  bindir=$(pg_bindir)
  if [ -z "$bindir" ]; then apt_install postgresql; bindir=$(pg_bindir); fi
  major=$(basename "$(dirname "$bindir")")
  if [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
    apt_install "postgresql-$major-postgis-3"
  fi
}

dynsec_plugin() { ls /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so 2>/dev/null | head -n 1 || true; }

ensure_mosquitto_packages() {
  if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ] || ! command -v mosquitto_ctrl >/dev/null; then
    apt_install mosquitto mosquitto-clients
  fi
}

secret() {  # secret NAME: a random value kept in var/secrets/NAME
  local file="$VAR/secrets/$1"
  [ -s "$file" ] || head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$file"
  cat "$file"
}

# PostgreSQL refuses to run as root: as root we run it as the `postgres` system user,
# whose home may not reach into this checkout, so the data then lives in /tmp.
pg_datadir() {
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$VAR" 2>/dev/null; then
    echo "/tmp/rental-pg-$(echo "$ROOT" | md5sum | cut -c1-12)"
  else
    echo "$VAR/pg"
  fi
}

pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  ensure_postgres_packages
  local bindir data sock
  bindir=$(pg_bindir); data=$(pg_datadir); sock="$data/run"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating PostgreSQL cluster in $data"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres: "$data"
    pg_run "$bindir/initdb" -D "$data" -U rental --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    pg_run mkdir -p "$sock"
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
max_connections = 300
shared_buffers = 256MB
fsync = on
synchronous_commit = on
CONF
  fi
  if ! pg_run "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    pg_run "$bindir/pg_ctl" -D "$data" -l "$data/postgres.log" -w start >/dev/null
  fi
  pg_run "$bindir/psql" -h 127.0.0.1 -p "$PG_PORT" -U rental -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='rental'" | grep -q 1 ||
    pg_run "$bindir/createdb" -h 127.0.0.1 -p "$PG_PORT" -U rental rental
  echo "export DATABASE_URL=postgresql+psycopg://rental@127.0.0.1:$PG_PORT/rental"
}

start_mosquitto() {
  ensure_mosquitto_packages
  local dir="$VAR/mosquitto" admin_pw platform_pw plugin
  mkdir -p "$dir"
  admin_pw=$(secret mqtt-admin); platform_pw=$(secret mqtt-platform)
  plugin=$(dynsec_plugin)
  sed -e "s|@VAR@|$VAR|g" -e "s|@MQTT_PORT@|$MQTT_PORT|g" -e "s|@DYNSEC_PLUGIN@|$plugin|g" \
      -e "s|@USER@|$(id -un)|g" "$ROOT/deploy/mosquitto/mosquitto.conf.in" > "$dir/mosquitto.conf"
  local fresh=0
  if [ ! -f "$dir/dynamic-security.json" ]; then
    mosquitto_ctrl dynsec init "$dir/dynamic-security.json" admin "$admin_pw" >/dev/null
    fresh=1
  fi
  if ! { [ -f "$dir/mosquitto.pid" ] && kill -0 "$(cat "$dir/mosquitto.pid")" 2>/dev/null; }; then
    /usr/sbin/mosquitto -c "$dir/mosquitto.conf" -d
    sleep 0.3
    pgrep -n -f "mosquitto -c $dir/mosquitto.conf" > "$dir/mosquitto.pid"
  fi
  if [ "$fresh" = 1 ]; then
    # The platform's own account: sends commands to every lock, reads all lock topics,
    # and provisions lock accounts through the dynamic-security API.
    local ctrl=(mosquitto_ctrl -h 127.0.0.1 -p "$MQTT_PORT" -u admin -P "$admin_pw" dynsec)
    "${ctrl[@]}" createRole platform 2>/dev/null
    "${ctrl[@]}" addRoleACL platform publishClientSend 'lock/v1/+/cmd' allow 2>/dev/null
    # Only to clear a decommissioned lock's retained status.
    "${ctrl[@]}" addRoleACL platform publishClientSend 'lock/v1/+/status' allow 2>/dev/null
    "${ctrl[@]}" addRoleACL platform subscribePattern 'lock/v1/#' allow 2>/dev/null
    "${ctrl[@]}" addRoleACL platform publishClientReceive 'lock/v1/#' allow 2>/dev/null
    "${ctrl[@]}" createClient platform -p "$platform_pw" 2>/dev/null
    "${ctrl[@]}" addClientRole platform platform 2>/dev/null
    "${ctrl[@]}" addClientRole platform admin 2>/dev/null
  fi
  echo "export MQTT_URL=mqtt://platform:$platform_pw@127.0.0.1:$MQTT_PORT"
}

stop() {
  local data; data=$(pg_datadir)
  [ -f "$data/PG_VERSION" ] && pg_run "$(pg_bindir)/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
  [ -f "$VAR/mosquitto/mosquitto.pid" ] && kill "$(cat "$VAR/mosquitto/mosquitto.pid")" 2>/dev/null || true
  rm -f "$VAR/mosquitto/mosquitto.pid"
}

# For the fault tests: one service down (and back) while the other keeps running.
stop_postgres() {
  local data; data=$(pg_datadir)
  [ -f "$data/PG_VERSION" ] && pg_run "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

stop_broker() {
  local pidfile="$VAR/mosquitto/mosquitto.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  # Mosquitto writes its persistence file on the way out: wait, so a start does not race it.
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$pidfile"
}

case "${1:-start}" in
  start)
    {
      if [ -n "${DATABASE_URL:-}" ]; then echo "export DATABASE_URL='$DATABASE_URL'"; else start_postgres; fi
      if [ -n "${MQTT_URL:-}" ]; then echo "export MQTT_URL='$MQTT_URL'"; else start_mosquitto; fi
    } > "$VAR/env.sh.new"
    mv "$VAR/env.sh.new" "$VAR/env.sh"
    log "ready (var/env.sh)"
    ;;
  stop) stop ;;
  stop-postgres) stop_postgres ;;
  start-postgres) start_postgres >/dev/null ;;
  stop-mosquitto) stop_broker ;;
  start-mosquitto) start_mosquitto >/dev/null ;;
  restart-mosquitto) stop_broker; start_mosquitto >/dev/null ;;
  *) echo "usage: $0 start|stop|stop-postgres|start-postgres|stop-mosquitto|start-mosquitto|restart-mosquitto" >&2; exit 2 ;;
esac
