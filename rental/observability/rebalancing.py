"""Rebalancing runs, as Prometheus sees them: how long each took, by who started it and
whether it made a plan. Fed by the use cases' `rebalancing_run_ended` signal in the process
that ran it (the nightly job, or the API for an operator's "Plan now")."""

from prometheus_client import Histogram

from rental.services.signals import RebalancingRunEnded, rebalancing_run_ended

# Runs search for 30-120 s by default (the fleet's time limit), plus reading the city.
RUN_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 1200.0)

RUN_SECONDS = Histogram(
    "rental_rebalancing_run_seconds",
    "Rebalancing runs from start to plan stored, by trigger and final state (ready, failed).",
    ["trigger", "state"],
    buckets=RUN_BUCKETS,
)


def record_run(news: RebalancingRunEnded) -> None:
    RUN_SECONDS.labels(news.trigger, news.state).observe(news.seconds)


def watch_rebalancing_runs() -> None:
    rebalancing_run_ended.connect(record_run, weak=False)
