"""`python -m rebalancing plan --city C [--time-limit S] [--seed N [--solutions K]]`: one run
now, in this process, waiting for it. `python -m rebalancing worker`: the planning worker
(`rental.entrypoints.planning_worker`), until stopped: makes the plans operators ask for
and each city's nightly plan at its nightly hour (local time). `nightly` is its old name."""

import argparse
import signal
import sys
from typing import assert_never

from rebalancing.solver import DEFAULT_SOLUTION_LIMIT
from rental.adapters.plan_requests import PlanRequestWakeups
from rental.bootstrap import Platform, libpq_url, utc_now
from rental.config import Config
from rental.domain.errors import RentalError
from rental.domain.rebalancing import PlanState, RunTrigger
from rental.entrypoints.planning_worker import PlanningWorker
from rental.observability.exposition import serve_metrics
from rental.observability.logs import configure_logging
from rental.observability.rebalancing import watch_rebalancing_runs
from rental.services import rebalancing_plans, rebalancing_runs
from rental.services.rebalancing_commands import StartRun


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
        _work(platform, planner, nightly=not args.no_schedule)
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
    worker = "make the plans operators ask for, and each city's plan at its nightly hour"
    for name, about in (("worker", worker), ("nightly", "the same as worker (its former name)")):
        command = commands.add_parser(name, help=about)
        command.add_argument(
            "--no-schedule",
            action="store_true",
            help="only the plans asked for: another worker keeps the nightly schedule",
        )
    return parser


def _plan_now(platform: Platform, command: StartRun, planner: rebalancing_runs.Planner) -> int:
    plan_id = rebalancing_runs.run(platform.uow, command, utc_now(), planner)
    made = rebalancing_plans.plan_details(platform.uow(), plan_id).plan
    print(f"plan {plan_id} (version {made.version}): {made.state}")
    print(made.error or made.summary)
    match made.state:
        case PlanState.READY:
            return 0
        case PlanState.QUEUED | PlanState.RUNNING | PlanState.FAILED:
            return 1
        case _:
            assert_never(made.state)


def _work(platform: Platform, planner: rebalancing_runs.Planner, *, nightly: bool) -> None:
    channel = rebalancing_runs.PLAN_REQUESTS_CHANNEL
    wakeups = PlanRequestWakeups(libpq_url(platform.config.DATABASE_URL), channel)
    worker = PlanningWorker(platform.uow, utc_now, planner, wakeups, nightly=nightly)
    signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())
    signal.signal(signal.SIGINT, lambda *_: worker.request_stop())
    worker.run()
