"""`python -m rebalancing plan --city C [--time-limit S] [--seed N [--solutions K]]`: one run
now, waiting for it. `python -m rebalancing nightly`: runs each city's plan at its nightly
hour (local time), until stopped."""

import argparse
import logging
import signal
import sys
import threading
from typing import assert_never

from rebalancing.solver import DEFAULT_SOLUTION_LIMIT
from rental.bootstrap import Platform, utc_now
from rental.config import Config
from rental.domain.errors import RentalError, Unavailable
from rental.domain.rebalancing import PlanState, RunTrigger
from rental.observability.exposition import serve_metrics
from rental.observability.logs import configure_logging
from rental.observability.rebalancing import watch_rebalancing_runs
from rental.services import rebalancing_plans, rebalancing_runs
from rental.services.rebalancing_commands import StartRun

# How often the schedule looks at the clock.
TICK_SECONDS = 30


def main(argv: list[str] | None = None) -> int:
    configure_logging("rebalancing")
    args = _parser().parse_args(argv)
    platform = Platform(Config.from_environment())
    watch_rebalancing_runs()
    planner = rebalancing_runs.Planner(platform.config.service_policy(), platform.routing)
    try:
        if args.command == "plan":
            command = StartRun(
                args.city,
                RunTrigger.COMMAND,
                args.time_limit,
                seed=args.seed,
                solution_limit=args.solutions,
            )
            return _plan_now(platform, command, planner)
        serve_metrics(platform.config.REBALANCING_METRICS_PORT)
        _nightly(platform, planner)
        return 0
    except RentalError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rebalancing")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="make a city's plan now")
    plan.add_argument("--city", required=True)
    plan.add_argument("--time-limit", type=float, help="seconds of search (default: the fleet's)")
    plan.add_argument(
        "--seed", type=int, help="make a repeatable plan: the same seed, the same plan"
    )
    plan.add_argument(
        "--solutions",
        type=int,
        default=DEFAULT_SOLUTION_LIMIT,
        help="with --seed: the search's work, in solutions found",
    )
    commands.add_parser("nightly", help="make each city's plan at its nightly hour")
    return parser


def _plan_now(platform: Platform, command: StartRun, planner: rebalancing_runs.Planner) -> int:
    plan_id = rebalancing_runs.run(platform.uow, command, utc_now(), planner)
    made = rebalancing_plans.plan_details(platform.uow(), plan_id).plan
    print(f"plan {plan_id} (version {made.version}): {made.state}")
    print(made.error or made.summary)
    match made.state:
        case PlanState.READY:
            return 0
        case PlanState.RUNNING | PlanState.FAILED:
            return 1
        case _:
            assert_never(made.state)


def _nightly(platform: Platform, planner: rebalancing_runs.Planner) -> None:
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    logging.info("nightly schedule started")
    away = False  # one line per database outage: the schedule waits it out
    while not stopped.wait(TICK_SECONDS):
        try:
            rebalancing_runs.run_due_cities(platform.uow, utc_now, planner)
        except Unavailable as error:
            if not away:
                logging.warning("nightly schedule waits for the database: %s", error)
            away = True
            continue
        if away:
            logging.info("the database answers again")
        away = False
