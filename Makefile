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

.PHONY: install services stop db demo test faults soak fuzz check bench bench-rebalancing browser clean

install: $(VENV)/.installed web/node_modules/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Front-end libraries the web pages load (Leaflet), from web/package-lock.json.
web/node_modules/.installed: web/package.json web/package-lock.json
	scripts/web.sh assets
	touch $@

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

test: install services browser
	$(WITH_ENV) $(PY) -m pytest -q

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

check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy rental lockctl simulator rebalancing sandboxpay

bench: db
	$(WITH_ENV) $(PY) -m bench.scan_latency --riders 100 --rounds 5 --rate 20
	$(WITH_ENV) $(PY) -m bench.nearby_search --vehicles 1000000 --queries 2000
	$(WITH_ENV) $(PY) -m bench.gbfs_feed --vehicles 100000 --requests 20 --seconds 30
	$(WITH_ENV) $(PY) -m bench.telemetry_ingest --locks 500 --rate 10000,20000 --seconds 10
	$(WITH_ENV) $(PY) -m bench.telemetry_ingest --scan --locks 500 --rate 10000 --seconds 15

# The public rebalancing benchmark (../shared/data/brp-instances): no services needed.
bench-rebalancing: install
	$(PY) -m bench.brp --time-limit $(TIME_LIMIT) $(INSTANCES)

clean: stop
	rm -rf var $(VENV) web/node_modules
