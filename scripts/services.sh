#!/usr/bin/env bash
# Starts the project-local PostgreSQL/PostGIS cluster, Mosquitto broker and Redis (the rate
# limits' shared counters) under var/, unless DATABASE_URL / MQTT_URL / RATELIMIT_STORAGE_URI
# point at servers of their own. Writes var/env.sh, which the Makefile sources so every
# command talks to the same services.
#   scripts/services.sh start|stop
# The fault tests (tests/faults) stop and start each service on its own:
#   scripts/services.sh stop-postgres|start-postgres|stop-mosquitto|start-mosquitto|restart-mosquitto
#   scripts/services.sh stop-redis|start-redis
# These act on the project-local servers only; set RENTAL_PG_PORT / RENTAL_MQTT_PORT /
# RENTAL_MQTTS_PORT / RENTAL_REDIS_PORT as for start. RENTAL_VAR=DIR keeps a set of servers
# of its own in DIR instead of var/ (the backup test restores into fresh ones).
# The broker listens on RENTAL_MQTT_PORT (plain, for the platform's processes) and on
# RENTAL_MQTTS_PORT (TLS, what locks are given). Its certificate comes from a demo CA made
# here once (var/mosquitto/tls), unless RENTAL_MQTT_TLS_CA / _CERT / _KEY name your own.
# A streaming replica of the project-local PostgreSQL, for reads that may lag, on port
# RENTAL_PG_REPLICA_PORT (RENTAL_PG_PORT + 1); start-replica prints its READ_DATABASE_URL:
#   scripts/services.sh start-replica|stop-replica
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR="${RENTAL_VAR:-$ROOT/var}"
PG_PORT=${RENTAL_PG_PORT:-55432}
MQTT_PORT=${RENTAL_MQTT_PORT:-18830}
# 18883 beside the default 18830: a demo on other ports gets a TLS port of its own too.
MQTTS_PORT=${RENTAL_MQTTS_PORT:-$((MQTT_PORT + 53))}
TLS_DIR="$VAR/mosquitto/tls"
REDIS_PORT=${RENTAL_REDIS_PORT:-16379}
PG_REPLICA_PORT=${RENTAL_PG_REPLICA_PORT:-$((PG_PORT + 1))}
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

# A Fernet key (32 random bytes, URL-safe base64) kept in var/secrets/NAME: it seals the
# locks' signing keys in the database, so it must outlive every restart, like the database.
fernet_key() {
  local file="$VAR/secrets/$1"
  [ -s "$file" ] || (umask 077; head -c 32 /dev/urandom | base64 | tr "+/" "-_" > "$file")
  cat "$file"
}

# PostgreSQL refuses to run as root: as root we run it as the `postgres` system user,
# whose home may not reach into this checkout, so the data then lives in /tmp.
pg_datadir() {
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$VAR" 2>/dev/null; then
    echo "/tmp/rental-pg-$(echo "${RENTAL_VAR:-$ROOT}" | md5sum | cut -c1-12)"
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

mosquitto_running() {
  local pidfile="$VAR/mosquitto/mosquitto.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

stop_mosquitto() {
  local pidfile="$VAR/mosquitto/mosquitto.pid" pid
  if mosquitto_running; then
    pid=$(cat "$pidfile")
    kill "$pid"
    # It saves its persistence file on the way out: wait for that.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

# One dynamic-security command through mosquitto_ctrl, which exits 0 even when the broker
# refuses: its answer says. "already exists" means an earlier start did it.
dynsec() {
  local out
  out=$(mosquitto_ctrl -h 127.0.0.1 -p "$MQTT_PORT" -u admin -P "$(secret mqtt-admin)" dynsec "$@" 2>&1) || {
    log "mosquitto_ctrl dynsec $1: ${out##*$'\n'}"; return 1; }
  case "$out" in
    *"Error: "*"already exists"*) ;;
    *"Error: "*) log "mosquitto_ctrl dynsec $1: ${out##*Error: }"; return 1 ;;
  esac
  printf '%s\n' "$out"
}

wait_for_mosquitto() {
  for _ in $(seq 1 50); do
    dynsec listRoles >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "the broker does not answer on port $MQTT_PORT (see var/log/mosquitto.log)"
  return 1
}

# The platform's own account: sends commands and acknowledgements to every lock, reads all
# lock topics, and manages accounts (locks', lockctl instances') through the dynamic-security
# API. Applied on every start, so a broker from an older checkout gets what is new.
# It is not bound to a client id: every API worker connects with it under an id of its own.
ensure_platform_account() {
  dynsec createRole platform >/dev/null
  dynsec addRoleACL platform publishClientSend 'lock/v1/+/cmd' allow >/dev/null
  dynsec addRoleACL platform publishClientSend 'lock/v1/+/ack' allow >/dev/null
  # Only to clear a decommissioned lock's retained status.
  dynsec addRoleACL platform publishClientSend 'lock/v1/+/status' allow >/dev/null
  dynsec addRoleACL platform subscribePattern 'lock/v1/#' allow >/dev/null
  dynsec addRoleACL platform publishClientReceive 'lock/v1/#' allow >/dev/null
  dynsec createClient platform -p "$(secret mqtt-platform)" >/dev/null
  # addClientRole answers "Internal error" for a role the client has: ask first.
  local has; has=$(dynsec getClient platform)
  for role in platform admin; do
    grep -Eq "(Roles:|^) +$role \(priority" <<<"$has" || dynsec addClientRole platform "$role" >/dev/null
  done
}

# What the platform's account applies for the API workers: lock accounts asked for on the
# requests topic (one lockctl of the share group takes each), answered on the asker's topic
# (rental/adapters/locks/provisioning.py). Mosquitto matches `#` of the admin role against
# no `$share/...` filter: the shared subscription needs its own entry. It may ask too (an
# API started with the platform's account, as the fault tests' is).
ensure_provisioning_acls() {
  dynsec addRoleACL platform subscribePattern '$share/+/rental/v1/lock-accounts/requests' allow >/dev/null
  dynsec addRoleACL platform publishClientSend 'rental/v1/lock-accounts/answers/+' allow >/dev/null
  dynsec addRoleACL platform publishClientSend 'rental/v1/lock-accounts/requests' allow >/dev/null
}

# The API workers' account: it sends commands and acknowledgements to locks and asks for
# lock accounts; it has no admin role, reads no lock topics and cannot touch the
# dynamic-security API (a lock account is made by the platform's account, in lockctl, after
# checking the request: see docs/operations.md, "Broker accounts").
ensure_api_account() {
  dynsec createRole api >/dev/null
  dynsec addRoleACL api publishClientSend 'lock/v1/+/cmd' allow >/dev/null
  dynsec addRoleACL api publishClientSend 'lock/v1/+/ack' allow >/dev/null
  dynsec addRoleACL api publishClientSend 'rental/v1/lock-accounts/requests' allow >/dev/null
  dynsec addRoleACL api subscribePattern 'rental/v1/lock-accounts/answers/+' allow >/dev/null
  dynsec createClient api -p "$(secret mqtt-api)" >/dev/null
  grep -Eq "(Roles:|^) +api \(priority" <<<"$(dynsec getClient api)" || dynsec addClientRole api api >/dev/null
}

# The demo's TLS material: a CA (its key stays here, to renew the server certificate) and a
# server certificate for the loopback names locks and the platform use here: 127.0.0.1,
# localhost and ::1. Made once and kept; the server certificate is renewed a month before
# it expires (825 days, what clients accept at most).
ensure_demo_certificates() {
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  if [ ! -s "$TLS_DIR/ca.crt" ] || [ ! -s "$TLS_DIR/ca.key" ]; then
    log "making a demo CA for the broker's TLS listener ($TLS_DIR)"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=Rental demo broker CA" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.crt" 2>/dev/null
    rm -f "$TLS_DIR/server.crt"
  fi
  if [ -s "$TLS_DIR/server.crt" ] && openssl x509 -checkend 2592000 -noout -in "$TLS_DIR/server.crt" >/dev/null; then
    return 0
  fi
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1" \
    "authorityKeyIdentifier=keyid" "subjectKeyIdentifier=hash" > "$TLS_DIR/server.ext"
  TLS_RENEWED=1
  openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$TLS_DIR/server.ext" \
    -out "$TLS_DIR/server.crt" 2>/dev/null
  rm -f "$TLS_DIR/server.csr" "$TLS_DIR/server.ext"
}

# The TLS listener's CA, certificate and key: the operator's own, or the demo's.
TLS_RENEWED=0
tls_ca() { echo "${RENTAL_MQTT_TLS_CA:-$TLS_DIR/ca.crt}"; }
tls_cert() { echo "${RENTAL_MQTT_TLS_CERT:-$TLS_DIR/server.crt}"; }
tls_key() { echo "${RENTAL_MQTT_TLS_KEY:-$TLS_DIR/server.key}"; }

ensure_tls_material() {
  if [ -n "${RENTAL_MQTT_TLS_CERT:-}${RENTAL_MQTT_TLS_KEY:-}${RENTAL_MQTT_TLS_CA:-}" ]; then
    local file
    for file in "$(tls_ca)" "$(tls_cert)" "$(tls_key)"; do
      [ -r "$file" ] || { log "set RENTAL_MQTT_TLS_CA, _CERT and _KEY together: cannot read '$file'"; return 1; }
    done
  else
    ensure_demo_certificates
  fi
}

start_mosquitto() {
  ensure_mosquitto_packages
  local dir="$VAR/mosquitto" plugin
  mkdir -p "$dir"
  plugin=$(dynsec_plugin)
  ensure_tls_material
  sed -e "s|@VAR@|$VAR|g" -e "s|@MQTT_PORT@|$MQTT_PORT|g" -e "s|@DYNSEC_PLUGIN@|$plugin|g" \
      -e "s|@MQTTS_PORT@|$MQTTS_PORT|g" -e "s|@TLS_CA@|$(tls_ca)|g" -e "s|@TLS_CERT@|$(tls_cert)|g" \
      -e "s|@TLS_KEY@|$(tls_key)|g" \
      -e "s|@USER@|$(id -un)|g" "$ROOT/deploy/mosquitto/mosquitto.conf.in" > "$dir/mosquitto.conf.new"
  # A running broker started from an older configuration is restarted to apply this one
  # (it keeps its retained and queued messages: persistence).
  if mosquitto_running && { ! cmp -s "$dir/mosquitto.conf.new" "$dir/mosquitto.conf" || [ "$TLS_RENEWED" = 1 ]; }; then
    log "the broker's configuration or certificate changed: restarting it"
    stop_mosquitto
  fi
  mv "$dir/mosquitto.conf.new" "$dir/mosquitto.conf"
  if [ ! -f "$dir/dynamic-security.json" ]; then
    mosquitto_ctrl dynsec init "$dir/dynamic-security.json" admin "$(secret mqtt-admin)" >/dev/null
  fi
  if ! mosquitto_running; then
    /usr/sbin/mosquitto -c "$dir/mosquitto.conf" -d
    sleep 0.3
    pgrep -n -f "mosquitto -c $dir/mosquitto.conf" > "$dir/mosquitto.pid"
  fi
  wait_for_mosquitto
  ensure_platform_account
  ensure_provisioning_acls
  ensure_api_account
  echo "export MQTT_URL=mqtt://platform:$(secret mqtt-platform)@127.0.0.1:$MQTT_PORT"
  # The API workers' own account, over TLS (scripts/demo.sh gives it to them as MQTT_URL).
  echo "export MQTT_API_URL=mqtts://api:$(secret mqtt-api)@127.0.0.1:$MQTTS_PORT"
  echo "export MQTT_CA_FILE='$(tls_ca)'"
  # What provisioning hands locks (docs/lock-protocol.md §2): the TLS listener and its CA.
  echo "export LOCK_BROKER_URL=mqtts://127.0.0.1:$MQTTS_PORT"
  echo "export LOCK_BROKER_CA_FILE='$(tls_ca)'"
}

# With a broker of your own (MQTT_URL), its other settings come from the environment too.
own_broker_settings() {
  echo "export MQTT_URL='$MQTT_URL'"
  local name
  for name in MQTT_API_URL MQTT_CA_FILE LOCK_BROKER_URL LOCK_BROKER_CA_FILE; do
    [ -n "${!name:-}" ] && echo "export $name='${!name}'"
  done
  return 0
}

ensure_redis_packages() {
  if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ] || ! command -v redis-cli >/dev/null; then
    apt_install redis-server
  fi
}

redis_running() {
  local pidfile="$VAR/redis/redis.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

redis_cli() { REDISCLI_AUTH="$(secret redis)" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

stop_redis() {
  local pidfile="$VAR/redis/redis.pid" pid
  if redis_running; then
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

# Redis holds only the rate limits' counters: short-lived, nothing worth keeping across a
# restart (no RDB, no AOF). Loopback only, with a password and protected mode. When memory
# runs short it drops the counters nearest their expiry rather than refuse new ones.
write_redis_conf() {
  cat <<CONF
# Written by scripts/services.sh on every start: edit that, not this.
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
requirepass $(secret redis)
daemonize yes
pidfile $VAR/redis/redis.pid
logfile $VAR/log/redis.log
dir $VAR/redis
save ""
appendonly no
maxmemory 128mb
maxmemory-policy volatile-ttl
CONF
}

start_redis() {
  ensure_redis_packages
  local dir="$VAR/redis"
  mkdir -p "$dir"
  chmod 700 "$dir"  # its configuration holds the password
  write_redis_conf > "$dir/redis.conf.new"
  if redis_running && ! cmp -s "$dir/redis.conf.new" "$dir/redis.conf"; then
    log "Redis's configuration changed: restarting it"
    stop_redis
  fi
  mv "$dir/redis.conf.new" "$dir/redis.conf"
  redis_running || redis-server "$dir/redis.conf"
  for _ in $(seq 1 50); do
    [ "$(redis_cli ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
  done
  if [ "$(redis_cli ping 2>/dev/null)" != PONG ]; then
    log "Redis does not answer on port $REDIS_PORT (see var/log/redis.log)"
    return 1
  fi
  echo "export RATELIMIT_STORAGE_URI=redis://:$(secret redis)@127.0.0.1:$REDIS_PORT/0"
}

stop() {
  local data; data=$(pg_datadir)
  stop_replica
  [ -f "$data/PG_VERSION" ] && pg_run "$(pg_bindir)/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
  stop_mosquitto
  stop_redis
}

# For the fault tests: the database down (and back) while the broker keeps running.
stop_postgres() {
  local data; data=$(pg_datadir)
  [ -f "$data/PG_VERSION" ] && pg_run "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# For the fault tests: PostgreSQL killed as by a power cut (no shutdown checkpoint); the
# next start recovers from the WAL, and empties the UNLOGGED tables as after any crash.
crash_postgres() {
  local data; data=$(pg_datadir)
  [ -f "$data/PG_VERSION" ] && pg_run "$(pg_bindir)/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
}

# The replica holds nothing of its own: each start copies the primary afresh
# (pg_basebackup -R: it then streams the primary's WAL), each stop removes the copy.
pg_replica_datadir() { echo "$(pg_datadir)-replica"; }

start_replica() {
  local bindir data
  start_postgres >/dev/null
  bindir=$(pg_bindir); data=$(pg_replica_datadir)
  if ! pg_run "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "copying PostgreSQL into a streaming replica on port $PG_REPLICA_PORT ($data)"
    rm -rf "$data"
    mkdir -p "$data"
    chmod 700 "$data"
    [ "$(id -u)" = 0 ] && chown postgres: "$data"
    pg_run "$bindir/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U rental -D "$data" -R -X stream -c fast 2> >(grep -v "skipping special file" >&2)
    pg_run rm -rf "$data/run" "$data/postgres.log"  # the primary's socket and log
    pg_run mkdir -p "$data/run"
    # After the primary's settings, which the copy brings: these win. Feedback keeps the
    # primary from vacuuming rows a read on the replica still needs (no cancelled reads).
    cat >> "$data/postgresql.conf" <<CONF
port = $PG_REPLICA_PORT
unix_socket_directories = '$data/run'
hot_standby = on
hot_standby_feedback = on
CONF
    pg_run "$bindir/pg_ctl" -D "$data" -l "$data/postgres.log" -w start >/dev/null
  fi
  echo "export READ_DATABASE_URL=postgresql+psycopg://rental@127.0.0.1:$PG_REPLICA_PORT/rental"
}

stop_replica() {
  local data; data=$(pg_replica_datadir)
  [ -f "$data/PG_VERSION" ] && pg_run "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$data"
}

case "${1:-start}" in
  start)
    {
      if [ -n "${DATABASE_URL:-}" ]; then echo "export DATABASE_URL='$DATABASE_URL'"; else start_postgres; fi
      if [ -n "${MQTT_URL:-}" ]; then own_broker_settings; else start_mosquitto; fi
      if [ -n "${RATELIMIT_STORAGE_URI:-}" ]; then
        echo "export RATELIMIT_STORAGE_URI='$RATELIMIT_STORAGE_URI'"
      else
        start_redis
      fi
      # Seals the locks' signing keys at rest (docs/operations.md); yours if you set it.
      echo "export LOCK_KEY_ENCRYPTION_KEYS='${LOCK_KEY_ENCRYPTION_KEYS:-$(fernet_key lock-key-encryption-key)}'"
    } > "$VAR/env.sh.new"
    mv "$VAR/env.sh.new" "$VAR/env.sh"
    log "ready (var/env.sh)"
    ;;
  stop) stop ;;
  stop-postgres) stop_postgres ;;
  crash-postgres) crash_postgres ;;
  start-postgres) start_postgres >/dev/null ;;
  stop-mosquitto) stop_mosquitto ;;
  start-mosquitto) start_mosquitto >/dev/null ;;
  restart-mosquitto) stop_mosquitto; start_mosquitto >/dev/null ;;
  stop-redis) stop_redis ;;
  start-redis) start_redis >/dev/null ;;
  start-replica) start_replica ;;
  stop-replica) stop_replica ;;
  *) echo "usage: $0 start|stop|stop-postgres|crash-postgres|start-postgres|stop-mosquitto|start-mosquitto|restart-mosquitto|stop-redis|start-redis|start-replica|stop-replica" >&2; exit 2 ;;
esac
