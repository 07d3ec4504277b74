"""The public rebalancing benchmark: each instance solved by the nightly job's own solver.

Prints cost, best known, gap and time per instance, then the mean and worst gap (on the
proven optima, and on all), and writes each solution to var/bench/brp/<instance>.json as
{"instance", "cost", "seconds", "routes"} (station indices in visiting order, depot
left out), so anyone can check it against the instance file. Exits 1 if a plan breaks
the rules or costs less than a proven optimum (which would mean broken rules).

    make bench-rebalancing [INSTANCES="1Bari30 54Toronto30"] [TIME_LIMIT=30]
"""

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

from rebalancing.brp import Reference, few_trucks, read_instance, read_references
from rebalancing.problem import violations
from rebalancing.solver import NoPlan, solve

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "brp-instances"
OUT = ROOT / "var" / "bench" / "brp"


def instance_names(chosen: list[str]) -> list[str]:
    names = chosen or [path.stem for path in (DATA / "dellamico2014").glob("*.txt")]
    return sorted(names, key=_number)


def _number(name: str) -> int:
    """Instances are named with their number first (1Bari30 ... 65Minneapolis10)."""
    match = re.match(r"\d+", name)
    return int(match.group()) if match else 0


def gap(cost: int, reference: float) -> float:
    return 100.0 * (cost - reference) / reference


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.brp")
    parser.add_argument("instances", nargs="*", help="names like 1Bari30; all when none")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per instance")
    parser.add_argument("--workers", type=int, default=2, help="searches side by side")
    args = parser.parse_args()
    references = read_references(DATA / "best_known.csv")
    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"{'instance':22} {'n':>4} {'Q':>3} {'cost':>8} {'best':>8} {'gap':>8}"
        f" {'to LB':>7} {'s':>6}"
    )
    gaps: dict[str, float] = {}
    broken = []
    for name in instance_names(args.instances):
        problem = read_instance(DATA / "dellamico2014" / f"{name}.txt")
        started = time.perf_counter()
        try:
            plan = solve(problem, args.time_limit, args.workers, few_trucks(problem))
        except NoPlan:
            broken.append(f"{name}: no plan in {args.time_limit:.0f} s")
            print(f"{name:22} no plan")
            continue
        seconds = time.perf_counter() - started
        reference = references[name]
        faults = violations(problem, plan)
        if reference.proven_optimal and plan.cost < reference.best_known:
            faults.append(f"costs less than the proven optimum {reference.best_known}")
        if faults:
            broken.append(f"{name}: {'; '.join(faults)}")
        gaps[name] = gap(plan.cost, reference.best_known)
        record = {"instance": name, "cost": plan.cost, "seconds": round(seconds, 2)}
        routes = [route for route in plan.routes if route]
        (OUT / f"{name}.json").write_text(json.dumps({**record, "routes": routes}) + "\n")
        print(_row(name, problem.size, problem.trucks[0].capacity, plan.cost, reference, seconds))
    _summary(gaps, references)
    for line in broken:
        print(f"BROKEN {line}", file=sys.stderr)
    return 1 if broken else 0


def _row(name: str, size: int, capacity: int, cost: int, ref: Reference, seconds: float) -> str:
    mark = "" if ref.proven_optimal else "*"
    return (
        f"{name + mark:22} {size:4} {capacity:3} {cost:8} {ref.best_known:8}"
        f" {gap(cost, ref.best_known):+7.2f}% {gap(cost, ref.lower_bound):+6.2f}% {seconds:6.1f}"
    )


def _summary(gaps: dict[str, float], references: dict[str, Reference]) -> None:
    proven = {name: value for name, value in gaps.items() if references[name].proven_optimal}
    print("* open instance: its best known is not proven optimal; 'to LB' is the gap to its bound")
    for what, chosen in (("proven optima", proven), ("all instances", gaps)):
        if chosen:
            worst = max(chosen, key=lambda name: chosen[name])
            optimal = sum(1 for value in chosen.values() if value <= 1e-9)
            print(
                f"{what}: {len(chosen)}, mean gap {statistics.mean(chosen.values()):+.2f}%,"
                f" worst {chosen[worst]:+.2f}% ({worst}), at or below best known: {optimal}"
            )


if __name__ == "__main__":
    sys.exit(main())
