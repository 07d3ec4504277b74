"""Planning outside the web server: the API only queues the plan an operator asks for, and
the planning worker, a process of its own (`python -m rebalancing worker`), takes it,
woken by the database's notification, and makes it; workers side by side never make the
same plan twice."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from rental.adapters.tables import rebalancing_plans
from rental.app import create_app
from rental.bootstrap import utc_now
from rental.domain.rebalancing import RunTrigger
from rental.domain.riders import Role
from rental.entrypoints.planning_worker import POLL_SECONDS
from rental.services import rebalancing_requests
from rental.services.rebalancing_commands import StartRun
from tests.helpers import RIDER_PASSWORD, eventually, make_user
from tests.integration.test_rebalancing import (
    CITY,
    OFFICE,
    STATION,
    bike_at,
    past_mornings,
    set_up_city,
)

SEARCH = {"city_id": CITY, "time_limit_seconds": 2, "seed": 7, "solutions": 20}


@pytest.fixture(autouse=True)
def city(platform):
    set_up_city(platform)


@pytest.fixture
def operator_client(platform):
    client = create_app(platform=platform).test_client()
    user = make_user(platform, Role.OPERATOR)
    signed_in = {"phone": user.phone, "password": RIDER_PASSWORD}
    answer = client.post("/api/v1/auth/token", json=signed_in)
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {answer.json['access_token']}"
    return client


def plan_row(platform, plan_id):
    with platform.engine.connect() as connection:
        return connection.execute(
            select(rebalancing_plans).where(rebalancing_plans.c.id == plan_id)
        ).one()


def a_night_to_plan(platform):
    piled = [bike_at(platform, STATION) for _ in range(4)]
    past_mornings(platform, piled[0], OFFICE, per_morning=2)


@pytest.fixture
def worker(platform) -> Iterator[subprocess.Popen[str]]:
    """`python -m rebalancing worker` on the test database, without the nightly schedule
    (which would queue the test city's nightly plan of its own)."""
    environment = {
        **os.environ,
        "DATABASE_URL": platform.config.DATABASE_URL,
        "REBALANCING_METRICS_PORT": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "rebalancing", "worker", "--no-schedule"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_the_api_only_queues_the_plan_an_operator_asks_for(platform, operator_client):
    a_night_to_plan(platform)

    asked = operator_client.post("/api/v1/ops/rebalancing/plans", json=SEARCH)
    time.sleep(1)  # an API that planned would be searching by now

    assert asked.status_code == 202 and asked.json["state"] == "queued"
    plan = operator_client.get(f"/api/v1/ops/rebalancing/plans/{asked.json['id']}").json
    assert plan["state"] == "queued" and plan["trucks"] == []
    row = plan_row(platform, asked.json["id"])
    assert (row.time_limit_seconds, row.seed, row.solution_limit) == (2, 7, 20)
    again = operator_client.post("/api/v1/ops/rebalancing/plans", json={"city_id": CITY})
    assert again.status_code == 409 and again.json["error"]["code"] == "rebalancing_running"


def test_the_worker_process_makes_queued_plans_and_wakes_for_new_ones(
    platform, operator_client, worker
):
    a_night_to_plan(platform)
    first = operator_client.post("/api/v1/ops/rebalancing/plans", json=SEARCH).json["id"]

    def ended(plan_id):
        return operator_client.get(f"/api/v1/ops/rebalancing/plans/{plan_id}").json["state"] in (
            "ready",
            "failed",
        )

    eventually(lambda: ended(first), timeout=60, what="the first plan")
    made = operator_client.get(f"/api/v1/ops/rebalancing/plans/{first}").json
    assert made["state"] == "ready", made["error"]
    assert made["summary"]["solver"]["seed"] == 7 and made["trucks"]
    # The worker now waits: the next plan asked for wakes it at once, not at its next poll.
    asked_at = utc_now()
    second = operator_client.post("/api/v1/ops/rebalancing/plans", json=SEARCH).json["id"]
    eventually(lambda: ended(second), timeout=60, what="the second plan")
    taken_after = plan_row(platform, second).started_at - asked_at
    assert taken_after < timedelta(seconds=POLL_SECONDS / 2), taken_after

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(10) == 0, worker.stderr.read() if worker.stderr else ""


def test_workers_side_by_side_take_each_queued_plan_once(platform):
    a_night_to_plan(platform)
    command = StartRun(CITY, RunTrigger.OPERATOR)
    rebalancing_requests.request_run(platform.uow(), command, utc_now())
    first, second = platform.uow(), platform.uow()

    with first:
        taken = first.rebalancing.take_queued_plan(utc_now())
        with second:  # while the first worker's transaction holds the plan
            assert second.rebalancing.take_queued_plan(utc_now()) is None
        first.commit()

    assert taken is not None and plan_row(platform, taken.id).state == "running"
    with second:
        assert second.rebalancing.take_queued_plan(utc_now()) is None
