"""The parts of observability that are ours: request ids, what the metrics count from the
use cases' news and lockctl's reports, the fleet gauge's failure, the JSON log lines, and
the multiprocess directory emptied at start."""

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from rental.api.observability import request_id_from
from rental.entrypoints.gunicorn_config import empty_metrics_directory
from rental.observability import lockctl
from rental.observability.fleet import LockPresence
from rental.observability.logs import bound, configure_logging
from rental.observability.unlocks import record_unlock
from rental.services.lock_reports import LockEventKind, LockEventReported, TelemetryReported
from rental.services.signals import UnlockOutcome, UnlockSettled

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("sent", ["3f2b9c1e-7d4a-4e0b-9a51-2c6f8e1d0a77", "abc123", "req:7/x+y=="])
def test_a_sane_incoming_request_id_is_kept(sent):
    assert request_id_from(sent) == sent


@pytest.mark.parametrize(
    "sent", [None, "", "has space", "line\nbreak", '"quoted"', "x" * 129, "ünïcode"]
)
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(sent):
    made = request_id_from(sent)
    assert made != sent and len(made) == 32 and made.isalnum()
    assert request_id_from(sent) != made  # a new one each time


def test_a_confirmed_unlock_is_timed_and_counted_a_failed_one_only_counted():
    histogram_before = sample("rental_scan_to_unlock_seconds_count")
    fast_before = sample("rental_scan_to_unlock_seconds_bucket", le="1.0")
    confirmed_before = sample("rental_unlock_outcomes_total", outcome="confirmed")
    timeouts_before = sample("rental_unlock_outcomes_total", outcome="timeout")

    record_unlock(UnlockSettled(UnlockOutcome.CONFIRMED, uuid4(), uuid4(), 0.8))
    record_unlock(UnlockSettled(UnlockOutcome.TIMEOUT, uuid4(), uuid4()))

    assert sample("rental_scan_to_unlock_seconds_count") == histogram_before + 1
    assert sample("rental_scan_to_unlock_seconds_bucket", le="1.0") == fast_before + 1
    assert sample("rental_unlock_outcomes_total", outcome="confirmed") == confirmed_before + 1
    assert sample("rental_unlock_outcomes_total", outcome="timeout") == timeouts_before + 1


def test_lockctl_times_reports_from_the_locks_clock_and_counts_fixes():
    lag_before = sample("lockctl_report_lag_seconds_count", channel="evt")
    slow_before = sample("lockctl_report_lag_seconds_bucket", channel="evt", le="2.5")
    fixes_before = sample("lockctl_telemetry_fixes_total")
    made = NOW - timedelta(seconds=3)
    evt = LockEventReported("L-1", 1, 1, LockEventKind.LOCKED, made, NOW)
    with_fix = TelemetryReported("L-1", 1, 2, made, NOW, True, 121.47, 31.23)
    without_fix = TelemetryReported("L-1", 1, 3, None, NOW, True)

    for report in (evt, with_fix, without_fix):
        lockctl.report_stored(report, NOW)

    assert sample("lockctl_report_lag_seconds_count", channel="evt") == lag_before + 1
    # 3 s late: not within 2.5 s.
    assert sample("lockctl_report_lag_seconds_bucket", channel="evt", le="2.5") == slow_before
    assert sample("lockctl_telemetry_fixes_total") == fixes_before + 1


def test_the_fleet_gauge_reads_the_counts_at_scrape_time_and_nothing_when_it_cannot():
    counts = {"online": 3, "offline": 1}
    registry = CollectorRegistry()
    registry.register(LockPresence(lambda: counts))
    assert registry.get_sample_value("rental_locks", {"state": "online"}) == 3
    counts["online"] = 4
    assert registry.get_sample_value("rental_locks", {"state": "online"}) == 4

    def away() -> dict[str, int]:
        raise ConnectionError("the database is away")

    failing = CollectorRegistry(auto_describe=True)
    failing.register(LockPresence(away))
    assert failing.get_sample_value("rental_locks", {"state": "online"}) is None


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging("test", stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)  # type: ignore[arg-type]


def test_a_log_line_is_one_json_object_with_the_bound_context_and_extra_fields(json_log):
    with bound(request_id="req-1"):
        logging.getLogger("rental.somewhere").info("scanned %s", "BK1", extra={"rental_id": "r"})
    logging.getLogger("rental.somewhere").warning("after")

    first, second = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert first["event"] == "scanned BK1"
    assert (first["request_id"], first["rental_id"], first["process"]) == ("req-1", "r", "test")
    assert (first["level"], first["logger"]) == ("info", "rental.somewhere")
    assert datetime.fromisoformat(first["timestamp"]).tzinfo is not None
    assert "request_id" not in second


def test_logging_set_up_by_someone_else_is_left_alone():
    root = logging.getLogger()
    theirs = logging.StreamHandler(io.StringIO())
    root.addHandler(theirs)
    try:
        before = list(root.handlers)
        assert configure_logging("api", only_if_unconfigured=True) is None
        assert root.handlers == before
    finally:
        root.removeHandler(theirs)


def test_the_metrics_directory_is_emptied_when_the_api_starts(tmp_path: Path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"old")
    (directory / "README").write_text("not ours")
    empty_metrics_directory(directory)
    assert sorted(path.name for path in directory.iterdir()) == ["README"]
    empty_metrics_directory(tmp_path / "new")
    assert (tmp_path / "new").is_dir()
