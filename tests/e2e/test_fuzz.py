"""Schemathesis against the live app, over HTTP: against the app's own OpenAPI document
(`/api/v1/openapi.json`) and against the official MDS 2.0 provider document. Whatever a
client sends, the answer is never a 5xx; the `system` fixture then checks that the books
balance and no wallet is overdrawn.

`make test` runs a bounded fuzz (FUZZ_EXAMPLES, 20 by default); `make fuzz` a long one.
A failure prints schemathesis' report, with a curl command per failing case."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_mds import agency_for
from tests.helpers import CITY

MDS_PROVIDER = (
    Path(__file__).resolve().parents[3] / "shared/data/mds-openapi/reference/provider.yaml"
)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
SEED = os.environ.get("FUZZ_SEED", "20261130")
OPERATOR_PATHS = "^/api/v1/ops/"
# Signing out ends the session every other request is made with: fuzzed on its own. A plan
# asked for keeps the planning worker's solver busy for its whole time limit: left out (its
# input is tested in tests/e2e/test_rebalancing.py).
SIGN_OUT = "^/api/v1/auth/logout$"
PLAN_RUN = "^/api/v1/ops/rebalancing/plans$"


def fuzz(schema: str, token: str, *options: str) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        schema,
        "--checks=not_a_server_error",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        "--phases=examples,coverage,fuzzing",
        "--request-timeout=30",
        "--no-color",
        "--warnings=off",
        f"--header=Authorization: Bearer {token}",
        *options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]


@pytest.fixture
def city_with_vehicles(system):
    for _ in range(2):
        system.bike()
    return CITY


def test_the_rider_api_never_answers_5xx(system, city_with_vehicles):
    rider = system.rider(credit_minor=5000)
    fuzz(
        f"{system.url}/api/v1/openapi.json",
        rider.token,
        f"--exclude-path-regex={OPERATOR_PATHS}|{SIGN_OUT}",
    )


def test_signing_out_never_answers_5xx(system):
    fuzz(
        f"{system.url}/api/v1/openapi.json",
        system.rider().token,
        f"--include-path-regex={SIGN_OUT}",
    )


def test_the_operator_api_never_answers_5xx(system, city_with_vehicles):
    operator = system.operator()
    fuzz(
        f"{system.url}/api/v1/openapi.json",
        operator.token,
        f"--include-path-regex={OPERATOR_PATHS}",
    )


def test_the_mds_provider_api_never_answers_5xx(system, city_with_vehicles):
    agency = agency_for(system, system.operator(), city_with_vehicles)
    token = agency.headers["Authorization"].removeprefix("Bearer ")
    fuzz(str(MDS_PROVIDER), token, f"--url={system.url}/mds/v2")
