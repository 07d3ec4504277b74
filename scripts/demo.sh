#!/usr/bin/env bash
# The whole system on the seeded demo city: the API, lockctl, a simulated fleet, the nightly
# rebalancing and the sandbox payment gateway, run by supervisord in the foreground
# (deploy/supervisor/demo.conf.in): a process that dies is started again while the others
# keep running; Ctrl-C stops them all. Called by `make demo` once the services run and the
# schema is current.
#   DEMO_VAR=DIR   keep the demo's secrets, fleet file, logs and supervisord's files in DIR
#                  instead of var/ (tests run a demo of their own)
#   DEMO_SEED=0    run on what is there: no seeding of the demo city, no account upgrade
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=$(cd "${VENV:-.venv}" && pwd)  # supervisord wants absolute paths
PY=$VENV/bin/python
DEMO_VAR=${DEMO_VAR:-$ROOT/var}
PORT=${PORT:-8000}
SIM_PORT=${SIM_PORT:-8001}
PAY_PORT=${PAY_PORT:-8002}
SECRETS=$DEMO_VAR/secrets
LOGS=$DEMO_VAR/log
RUN_DIR=$DEMO_VAR/demo/supervisor
FLEET=$DEMO_VAR/demo/fleet.json
mkdir -p "$DEMO_VAR/demo" "$LOGS" "$SECRETS" "$RUN_DIR"

# API workers connect to the broker with an account of their own, which can send lock
# commands and ask lockctl for lock accounts but not manage the broker (docs/operations.md,
# "Broker accounts"); lockctl and this script use the platform's (MQTT_URL).
: "${MQTT_API_URL:?is not set: the broker account of the API workers, made by scripts/services.sh}"
export MQTT_API_URL

# Every API worker must sign and check tokens with the same key.
[ -s "$SECRETS/api-secret-key" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SECRETS/api-secret-key"
export SECRET_KEY=${SECRET_KEY:-$(cat "$SECRETS/api-secret-key")}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
[ -s "$SECRETS/sandboxpay" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SECRETS/sandboxpay"
export PAYMENT_GATEWAY_URL=${PAYMENT_GATEWAY_URL:-http://127.0.0.1:$PAY_PORT}
export PAYMENT_GATEWAY_SECRET=${PAYMENT_GATEWAY_SECRET:-$(cat "$SECRETS/sandboxpay")}
# Sign-in codes are "sent" by the sandbox, shown at /sandbox/sms (a demo only).
export SMS_PROVIDER=${SMS_PROVIDER:-sandbox}
# Metrics (docs/operations.md): the API's at /metrics, lockctl's and the nightly job's on
# loopback ports of their own; the API workers' values meet in METRICS_DIR.
export LOCKCTL_METRICS_PORT=${LOCKCTL_METRICS_PORT:-$((PORT + 3))}
export REBALANCING_METRICS_PORT=${REBALANCING_METRICS_PORT:-$((PORT + 4))}
METRICS_DIR=$DEMO_VAR/demo/metrics

if [ "${DEMO_SEED:-1}" != 0 ]; then
  $PY -m rental seed-demo --fleet-file "$FLEET" --bikes "${DEMO_BIKES:-30}"
  # Locks kept from an older demo get what protocol 1.1 needs (client id binding, acks).
  $PY -m rental broker-accounts upgrade >/dev/null || echo "demo: some locks cannot connect (above)" >&2
  # The city's MDS reader, once per database (its token is signed with the key above).
  [ -s "$DEMO_VAR/demo/mds-token" ] || $PY -m rental mds-client --city demo --name "Demo city transport department" > "$DEMO_VAR/demo/mds-token"
fi

# A value for the supervisord configuration, through sed: supervisord expands %(...)s.
conf_value() { local v=${1//%/%%}; v=${v//\\/\\\\}; v=${v//|/\\|}; printf '%s' "${v//&/\\&}"; }
sed -e "s|@ROOT@|$(conf_value "$ROOT")|g" -e "s|@VENV@|$(conf_value "$VENV")|g" \
    -e "s|@LOG_DIR@|$(conf_value "$LOGS")|g" -e "s|@RUN_DIR@|$(conf_value "$RUN_DIR")|g" \
    -e "s|@SECRETS_DIR@|$(conf_value "$SECRETS")|g" -e "s|@FLEET_FILE@|$(conf_value "$FLEET")|g" \
    -e "s|@METRICS_DIR@|$(conf_value "$METRICS_DIR")|g" \
    -e "s|@PORT@|$PORT|g" -e "s|@SIM_PORT@|$SIM_PORT|g" -e "s|@PAY_PORT@|$PAY_PORT|g" \
    -e "s|@UNLOCK_DELAY_MS@|$(conf_value "${UNLOCK_DELAY_MS:-300}")|g" \
    -e "s|@HEARTBEAT_S@|$(conf_value "${HEARTBEAT_S:-60}")|g" \
    -e "s|@LOCKCTL_INSTANCE@|$(conf_value "${LOCKCTL_INSTANCE:-demo}")|g" \
    deploy/supervisor/demo.conf.in > "$RUN_DIR/supervisord.conf"

# The banner, once the API and the simulator answer; silent if supervisord is gone by then.
supervisord_pid=$$  # exec below keeps the pid
banner() {
  for _ in $(seq 1 150); do
    kill -0 "$supervisord_pid" 2>/dev/null || return 0
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$SIM_PORT/locks" >/dev/null 2>&1 && break
    sleep 0.2
  done
  cat <<BANNER

  Dockless rental platform: demo city "demo" (Shanghai, CNY) is running.

  API            http://127.0.0.1:$PORT/api/v1        (health: /healthz, readiness: /readyz)
  Metrics        http://127.0.0.1:$PORT/metrics  lockctl :$LOCKCTL_METRICS_PORT  nightly job :$REBALANCING_METRICS_PORT  (docs/operations.md)
  Rider app      http://127.0.0.1:$PORT/app/          (a phone-sized PWA; sign in as a rider below)
  Console        http://127.0.0.1:$PORT/ops/          (operators: fleet, registration, zones, cases, books, rebalancing)
  Simulator      http://127.0.0.1:$SIM_PORT/locks     (virtual locks; play riders here)
  Sandbox pay    http://127.0.0.1:$PAY_PORT           (payment gateway: open a top-up's pay_url to pay)
  Logs           ${LOGS#"$ROOT"/}/
  Processes      ${VENV#"$ROOT"/}/bin/supervisorctl -c ${RUN_DIR#"$ROOT"/}/supervisord.conf status

  Rider          phone 13800000001   password demo-rider-pass   (20.00 CNY credit, score 700: no deposit)
  New rider      phone 13800000002   password demo-rider-pass   (score 600: pays the 299.00 CNY bike deposit)
  Operator       phone 13900000001   password demo-operator-pass
  Bikes          BK00001 ... QR payload $PUBLIC_BASE_URL/q/BK00001
  Cabinets       DEMO-C01/C02 power banks PB00001..., DEMO-C03 umbrellas UM..., DEMO-C04 basketballs BB...
  Map            zones: GET /api/v1/cities/demo/zones   nearby: GET /api/v1/vehicles/nearby?lon=121.4737&lat=31.2304
  Open data      GBFS: http://127.0.0.1:$PORT/gbfs/v3/demo/gbfs.json
                 MDS:  curl -H "authorization: Bearer \$(cat var/demo/mds-token)" localhost:$PORT/mds/v2/vehicles/status

  A ride from a terminal:
    T=\$(curl -s -XPOST localhost:$PORT/api/v1/auth/token -H 'content-type: application/json' \\
          -d '{"phone":"13800000001","password":"demo-rider-pass"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])')
    R=\$(curl -s -XPOST localhost:$PORT/api/v1/rentals -H "authorization: Bearer \$T" -H 'content-type: application/json' \\
          -d '{"qr":"$PUBLIC_BASE_URL/q/BK00001","idempotency_key":"'\$(python3 -c 'import uuid;print(uuid.uuid4())')'"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
    curl -s "localhost:$PORT/api/v1/rentals/\$R?wait=5" -H "authorization: Bearer \$T"      # "active" once the lock opened
    curl -s -XPOST localhost:$SIM_PORT/locks/DEMO-L0001/ride -d '{"points":[[121.4730,31.2300],[121.4735,31.2300],[121.4740,31.2301]],"interval_s":3}' -H 'content-type: application/json'
    curl -s -XPOST localhost:$SIM_PORT/locks/DEMO-L0001/close
    curl -s localhost:$PORT/api/v1/rentals -H "authorization: Bearer \$T"
  Rebalancing (every night at 02:00 Shanghai time; or now: "Plan now" in the console, or as the operator O):
    O=\$(curl -s -XPOST localhost:$PORT/api/v1/auth/token -H 'content-type: application/json' \\
          -d '{"phone":"13900000001","password":"demo-operator-pass"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])')
    curl -s -XPOST localhost:$PORT/api/v1/ops/rebalancing/plans -H "authorization: Bearer \$O" -H 'content-type: application/json' -d '{"city_id":"demo"}'
    curl -s "localhost:$PORT/api/v1/ops/rebalancing/plans/latest?city_id=demo" -H "authorization: Bearer \$O"
    curl -s -XPOST localhost:$SIM_PORT/plans/<plan id>/drive -H 'content-type: application/json' -d '{"api_url":"http://127.0.0.1:$PORT","token":"'\$O'"}'
  A power bank back at another cabinet (after scanning PB00001):
    curl -s -XPOST localhost:$SIM_PORT/locks/DEMO-C02/return -d '{"item":"PB00001"}' -H 'content-type: application/json'

  A process that dies is started again (see ${LOGS#"$ROOT"/}/supervisord.log). Ctrl-C stops them all;
  the databases keep running: make stop.
BANNER
}
(banner &)  # not a child of supervisord, which would log it as an unknown process
exec "$VENV/bin/supervisord" -c "$RUN_DIR/supervisord.conf"
