# Every target installs what it needs and starts the services it talks to.
# Set DATABASE_URL / MQTT_URL / RATELIMIT_STORAGE_URI to use servers of your own instead of the
# project-local ones.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WITH_ENV := set -a && . var/env.sh && set +a &&
PORT ?= 8000
INSTANCES ?=
TIME_LIMIT ?= 30

.PHONY: install services stop db demo test faults soak fuzz check bench bench-scale bench-rebalancing lighthouse browser clean dist dist-check backup restore deploy-check

install: $(VENV)/.installed web/node_modules/.installed rental/web/vendor/.copied

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Front-end libraries the web pages load (Leaflet), from web/package-lock.json.
web/node_modules/.installed: web/package.json web/package-lock.json
	scripts/web.sh assets
	touch $@

# The files of those libraries the pages load, copied into the package: a wheel carries them.
rental/web/vendor/.copied: web/node_modules/.installed scripts/web.sh
	scripts/web.sh vendor
	touch $@

# The wheel an operator installs (docs/operations.md, "Deploying"): the platform with its web
# pages and their libraries, in dist/.
dist: install
	rm -rf build dist
	$(PY) -m pip wheel -q --no-deps -w dist .

# The packaging test with the wheel's dependencies installed from the registry, as on a
# server (about a minute more); `make test` runs it with the test environment's own.
dist-check: db
	$(WITH_ENV) WHEEL_TEST_FULL_INSTALL=1 $(PY) -m pytest -q tests/packaging

# Debian's Chromium, for the browser tests.
browser:
	scripts/web.sh browser

services:
	scripts/services.sh start

stop:
	scripts/services.sh stop

db: install services
	$(WITH_ENV) $(PY) -m rental db upgrade

# In the foreground under supervisord (deploy/supervisor/demo.conf.in); Ctrl-C stops it all.
demo: db
	$(WITH_ENV) PORT=$(PORT) VENV=$(VENV) scripts/demo.sh

test: install services browser var/tools/nginx/usr/sbin/nginx
	$(WITH_ENV) $(PY) -m pytest -q

# nginx for checking deploy/nginx, unpacked from Debian's package (never installed as a
# service): scripts/deploy.sh.
var/tools/nginx/usr/sbin/nginx:
	scripts/deploy.sh tools

# The production layout (deploy/) alone: units, environment template, proxy, broker.
deploy-check: db var/tools/nginx/usr/sbin/nginx
	$(WITH_ENV) $(PY) -m pytest -q tests/packaging/test_deploy_layout.py

# Only the fault tests (also part of `make test`): they stop and start the project-local
# PostgreSQL and Mosquitto and kill lockctl, a few minutes.
faults: db
	$(WITH_ENV) $(PY) -m pytest -q -m faults tests/faults

# Not part of `make test`: 200 rides over five minutes under random faults, then every
# invariant of tests/faults. SOAK_ARGS="--seed 7 --rides 400 --minutes 10" to vary it.
SOAK_ARGS ?=
soak: db
	$(WITH_ENV) $(PY) -m tests.faults.soak $(SOAK_ARGS)

# Not part of `make test` (which runs the same fuzz with 20 examples per operation):
# schemathesis against /api/v1/openapi.json and the official MDS provider document, zero
# 5xx, books balanced. FUZZ_EXAMPLES=N FUZZ_SEED=S to vary it.
FUZZ_EXAMPLES ?= 300
fuzz: db
	$(WITH_ENV) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/e2e/test_fuzz.py

# PostgreSQL and the broker's accounts together, in one archive with a manifest
# (docs/operations.md, "Backups"): var/backups/rental-backup-<UTC time>.tar.gz.
BROKER_ACCOUNTS_FILE ?= var/mosquitto/dynamic-security.json
BACKUP := $(PY) -m rental.entrypoints.backup --broker-accounts $(BROKER_ACCOUNTS_FILE)
backup: db
	$(WITH_ENV) $(BACKUP) create --to var/backups

# make restore ARCHIVE=var/backups/rental-backup-....tar.gz: into an empty database (a
# fresh clone's, or any with RESTORE_REPLACE=1) and the broker, stopped, replaced, started.
# The broker's passwords are those in var/secrets: bring the backed-up machine's.
restore: install services
	@test -n "$(ARCHIVE)" || { echo "usage: make restore ARCHIVE=<file> [RESTORE_REPLACE=1]" >&2; exit 2; }
	$(WITH_ENV) $(BACKUP) restore "$(ARCHIVE)" $(if $(RESTORE_REPLACE),--replace) \
	    --broker-stop "scripts/services.sh stop-mosquitto" \
	    --broker-start "scripts/services.sh start-mosquitto"
	$(WITH_ENV) $(PY) -m rental db upgrade

check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy rental lockctl simulator rebalancing sandboxpay

bench: db
	$(WITH_ENV) $(PY) -m bench.scan_latency --riders 100 --rounds 5 --rate 20
	$(WITH_ENV) $(PY) -m bench.request_floor --clients 100 --requests 30
	$(WITH_ENV) $(PY) -m bench.nearby_search --vehicles 1000000 --queries 2000
	$(WITH_ENV) $(PY) -m bench.gbfs_feed --vehicles 100000 --requests 20 --seconds 30
	$(WITH_ENV) $(PY) -m bench.telemetry_ingest --locks 500 --rate 10000,20000 --seconds 10
	$(WITH_ENV) $(PY) -m bench.telemetry_ingest --scan --locks 500 --rate 10000 --seconds 15

# Not part of `make bench`: unlock throughput with 1 and 2 API processes and 1 and 2
# lockctl processes (one short burst run each), then the read paths' throughput with 1
# and 2 API workers (docs/performance.md).
bench-scale: db
	$(WITH_ENV) $(PY) -m bench.scale --riders 100 --rounds 2
	$(WITH_ENV) $(PY) -m bench.read_scale --seconds 20 --clients 8

# Lighthouse's scores for the rider app on a phone (bench/lighthouse.py); Lighthouse from
# bench/lighthouse/package-lock.json, kept out of `make install` (about 100 MB).
lighthouse: db browser bench/lighthouse/node_modules/.installed
	$(WITH_ENV) $(PY) -m bench.lighthouse

bench/lighthouse/node_modules/.installed: bench/lighthouse/package.json bench/lighthouse/package-lock.json
	npm ci --prefix bench/lighthouse --no-audit --no-fund --loglevel=error
	touch $@

# The public rebalancing benchmark (../shared/data/brp-instances): no services needed.
bench-rebalancing: install
	$(PY) -m bench.brp --time-limit $(TIME_LIMIT) $(INSTANCES)

clean: stop
	rm -rf var $(VENV) web/node_modules rental/web/vendor build dist
