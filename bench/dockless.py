"""A dockless city's night: 1,000 hotspots, 50,000 bikes and 30 trucks, solved by the
nightly job's model. Reports the time to a first feasible plan, and the imbalance the
plan removes per truck-kilometre.

The city is synthetic and seeded: hotspots cluster around a dozen districts; each has a
morning target, and the evening left bikes piled elsewhere (some outside any hotspot).

    python -m bench.dockless [--hotspots 1000 --bikes 50000 --trucks 30 --time-limit 120]
"""

import argparse
import random
import time

from rebalancing.city import Site, Trucks, night_problem, outcome
from rebalancing.distances import GreatCircle, Point
from rebalancing.solver import solve

CENTER = (121.47, 31.23)
DEGREES_PER_KM = 1 / 100  # near enough at 31°N for a synthetic city


def synthetic_city(hotspots: int, bikes: int, seed: int) -> list[Site]:
    rng = random.Random(seed)
    districts = [_around(rng, CENTER, 8) for _ in range(12)]
    places = [_around(rng, rng.choice(districts), 1.5) for _ in range(hotspots)]
    # Where riders start in the morning, and where the evening left the bikes.
    morning = [rng.lognormvariate(0, 0.8) for _ in places]
    evening = [rng.lognormvariate(0, 0.8) for _ in places]
    stray = bikes // 20  # parked outside any hotspot: all to be picked up
    targets = _share(morning, bikes - stray)
    parked = _share(evening, bikes - stray)
    sites = [
        Site(place, now - want) for place, now, want in zip(places, parked, targets, strict=True)
    ]
    strays = [Site(_around(rng, CENTER, 10), count) for count in _share([1.0] * 200, stray)]
    return sites + strays


def _around(rng: random.Random, center: Point, km: float) -> Point:
    return (
        center[0] + rng.gauss(0, km) * DEGREES_PER_KM,
        center[1] + rng.gauss(0, km) * DEGREES_PER_KM,
    )


def _share(weights: list[float], total: int) -> list[int]:
    """`total` split in proportion to `weights`, in whole bikes."""
    scale = total / sum(weights)
    shares = [int(weight * scale) for weight in weights]
    for index in range(total - sum(shares)):
        shares[index % len(shares)] += 1
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dockless")
    parser.add_argument("--hotspots", type=int, default=1000)
    parser.add_argument("--bikes", type=int, default=50_000)
    parser.add_argument("--trucks", type=int, default=30)
    parser.add_argument("--capacity", type=int, default=30)
    parser.add_argument("--shift-hours", type=float, default=7)
    parser.add_argument("--time-limit", type=float, default=120)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sites = synthetic_city(args.hotspots, args.bikes, args.seed)
    fleet = Trucks(CENTER, [args.capacity] * args.trucks, int(args.shift_hours * 3600), 25 / 3.6)
    started = time.perf_counter()
    night = night_problem(sites, fleet, GreatCircle())
    built = time.perf_counter() - started
    print(
        f"{args.hotspots} hotspots, {args.bikes:,} bikes, {args.trucks} trucks of"
        f" {args.capacity}, {args.shift_hours} h shifts: {len(night.stops)} stops"
        f" (built in {built:.1f} s)"
    )
    plan = solve(night.problem, args.time_limit)
    result = outcome(sites, night, plan)
    print(
        f"  first feasible plan after {plan.first_found_seconds:.1f} s;"
        f" searched {args.time_limit:.0f} s"
    )
    print(
        f"  imbalance {result.imbalance_before:,} -> {result.imbalance_after:,} bikes;"
        f" {result.bikes_moved:,} bikes moved; {result.truck_metres / 1000:,.0f} truck-km;"
        f" {result.removed_per_truck_km:.1f} bikes of imbalance removed per truck-km"
    )
    used = sum(1 for route in plan.routes if route)
    print(f"  {used} trucks used, {len(plan.skipped)} of {len(night.stops)} stops left out")


if __name__ == "__main__":
    main()
