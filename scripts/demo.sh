#!/usr/bin/env bash
# The whole system on the seeded demo city: API, lockctl and a simulated fleet.
# Called by `make demo` once the services run and the schema is current.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
SIM_PORT=${SIM_PORT:-8001}
mkdir -p var/demo var/log var/secrets

# Every API worker must sign and check tokens with the same key.
[ -s var/secrets/api-secret-key ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > var/secrets/api-secret-key
export SECRET_KEY=${SECRET_KEY:-$(cat var/secrets/api-secret-key)}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
PAY_PORT=${PAY_PORT:-8002}
[ -s var/secrets/sandboxpay ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > var/secrets/sandboxpay
export PAYMENT_GATEWAY_URL=${PAYMENT_GATEWAY_URL:-http://127.0.0.1:$PAY_PORT}
export PAYMENT_GATEWAY_SECRET=${PAYMENT_GATEWAY_SECRET:-$(cat var/secrets/sandboxpay)}

$PY -m rental seed-demo --fleet-file var/demo/fleet.json --bikes "${DEMO_BIKES:-30}"
# The city's MDS reader, once per database (its token is signed with the key above).
[ -s var/demo/mds-token ] || $PY -m rental mds-client --city demo --name "Demo city transport department" > var/demo/mds-token

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 0' INT TERM

# A group and a clean session of its own per run: a demo that dies must not leave a
# session behind that keeps receiving its share of the next run's lock reports.
LOCKCTL_INSTANCE=demo-$$ LOCKCTL_SHARE_GROUP=demo-$$ LOCKCTL_PERSISTENT_SESSION=0 $PY -m lockctl >> var/log/lockctl.log 2>&1 & pids+=($!)
$PY -m simulator --fleet var/demo/fleet.json --port "$SIM_PORT" --unlock-delay-ms "${UNLOCK_DELAY_MS:-300}" \
  --heartbeat-s "${HEARTBEAT_S:-60}" \
  >> var/log/simulator.log 2>&1 & pids+=($!)
$PY -m rebalancing nightly >> var/log/rebalancing.log 2>&1 & pids+=($!)
$PY -m sandboxpay --port "$PAY_PORT" --secret-file var/secrets/sandboxpay >> var/log/sandboxpay.log 2>&1 & pids+=($!)
.venv/bin/gunicorn --bind "127.0.0.1:$PORT" --workers 2 --worker-class gthread --threads 32 \
  --access-logfile var/log/api-access.log 'rental.app:create_app()' >> var/log/api.log 2>&1 & pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$SIM_PORT/locks" >/dev/null 2>&1 && break
  sleep 0.2
done

cat <<BANNER

  Dockless rental platform: demo city "demo" (Shanghai, CNY) is running.

  API            http://127.0.0.1:$PORT/api/v1        (health: /healthz)
  Rider app      http://127.0.0.1:$PORT/app/          (a phone-sized PWA; sign in as a rider below)
  Console        http://127.0.0.1:$PORT/ops/          (operators: fleet, registration, zones, cases, books, rebalancing)
  Simulator      http://127.0.0.1:$SIM_PORT/locks     (virtual locks; play riders here)
  Sandbox pay    http://127.0.0.1:$PAY_PORT           (payment gateway: open a top-up's pay_url to pay)
  Logs           var/log/

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
    curl -s -XPOST localhost:$PORT/api/v1/rentals -H "authorization: Bearer \$T" -H 'content-type: application/json' \\
          -d '{"qr":"$PUBLIC_BASE_URL/q/BK00001","idempotency_key":"'\$(uuidgen || date +%s%N)'"}'
    curl -s -XPOST localhost:$SIM_PORT/locks/DEMO-L0001/ride -d '{"points":[[121.47,31.23],[121.48,31.235]],"interval_s":0.5}' -H 'content-type: application/json'
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

  Ctrl-C stops the API, lockctl and the simulator (the databases keep running: make stop).
BANNER
wait -n "${pids[@]}"
echo "a demo process exited; see var/log/" >&2
exit 1
