"""Unlock throughput as the platform's processes are added: 1 and 2 API processes (gunicorn
workers) by 1 and 2 lockctl processes (one MQTT share group), one short run each on one
seeded fleet. Each run is a burst (every rider scans at once, `--rounds` times after a
warm-up): the rate at which unlocks then complete is what the platform can do, with the
latencies riders saw and the CPU each process spent per unlock.

    make bench-scale   (python -m bench.scale --riders 100 --rounds 2)
"""

import argparse
from dataclasses import dataclass

from bench.harness import Bench
from bench.scan_latency import Measured, percentile, report, run_rounds

# (API processes, lockctl processes)
SHAPES = ((1, 1), (2, 1), (1, 2), (2, 2))


@dataclass(frozen=True)
class Run:
    api_workers: int
    lockctl_processes: int
    measured: Measured


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--riders", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    bench = Bench(args.riders)
    print(f"seeding {args.riders} riders and bikes ...", flush=True)
    bench.seed()
    runs = []
    try:
        for api_workers, lockctl_processes in SHAPES:
            bench.api_workers, bench.lockctl_processes = api_workers, lockctl_processes
            with bench.running(forget_locks=False):
                bench.sign_in_all()
                measured = run_rounds(bench, args.rounds, interval=0.0, profile=None)
            runs.append(Run(api_workers, lockctl_processes, measured))
            title = f"{api_workers} API, {lockctl_processes} lockctl: burst of {args.riders}"
            report(title, measured)
    finally:
        bench.forget_locks()
    summary(runs)


def summary(runs: list[Run]) -> None:
    print("\nAPI  lockctl  unlocks/s   p50 ms   p99 ms   CPU ms per unlock (platform)")
    for run in runs:
        measured = run.measured
        ms = [value * 1000 for value in measured.latencies]
        platform = sum(s for name, s in measured.cpu.items() if name != "riders")
        print(
            f"{run.api_workers:>3}  {run.lockctl_processes:>7}  {measured.throughput:>9.0f}"
            f"  {percentile(ms, 0.50):>7.0f}  {percentile(ms, 0.99):>7.0f}"
            f"  {1000 * platform / len(ms):>6.1f}"
        )


if __name__ == "__main__":
    main()
