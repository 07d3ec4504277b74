"""`python -m rebalancing plan --city C [--time-limit S]`: one run now, waiting for it.
`python -m rebalancing nightly`: runs each city's plan at its nightly hour (local time)."""

import argparse
import logging
import signal
import sys
import threading

from rebalancing import job, solver
from rental.bootstrap import Platform, utc_now
from rental.config import Config
from rental.domain.errors import RentalError

# How often the schedule looks at the clock.
TICK_SECONDS = 30


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s rebalancing %(message)s")
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
        default=solver.DEFAULT_SOLUTION_LIMIT,
        help="with --seed: the search's work, in solutions found",
    )
    commands.add_parser("nightly", help="make each city's plan at its nightly hour")
    args = parser.parse_args(argv)
    platform = Platform(Config.from_environment())
    settings = job.Settings(platform.config.service_policy())
    try:
        if args.command == "plan":
            limited = job.Settings(
                settings.policy, args.time_limit, seed=args.seed, solution_limit=args.solutions
            )
            plan_id = job.run(platform.uow, args.city, utc_now(), "command", limited)
            with platform.uow() as uow:
                made = uow.rebalancing.plan(plan_id)
            assert made is not None
            print(f"plan {plan_id} (version {made['version']}): {made['state']}")
            print(made["error"] or made["summary"])
            return 0 if made["state"] == "ready" else 1
        _nightly(platform, settings)
        return 0
    except RentalError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1


def _nightly(platform: Platform, settings: job.Settings) -> None:
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    logging.info("nightly schedule started")
    while not stopped.wait(TICK_SECONDS):
        for city_id in job.due_cities(platform.uow, utc_now()):
            try:
                plan_id = job.run(platform.uow, city_id, utc_now(), "nightly", settings)
                logging.info("%s: nightly plan %s made", city_id, plan_id)
            except RentalError as error:
                logging.warning("%s: no nightly plan: %s", city_id, error.message)


if __name__ == "__main__":
    sys.exit(main())
