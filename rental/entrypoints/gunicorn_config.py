"""gunicorn's hooks for the API: `gunicorn -c python:rental.entrypoints.gunicorn_config
"rental.app:create_app()"` (deploy/supervisor/demo.conf.in).

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its metrics to files in that
directory and /metrics reads them all (prometheus-client's multiprocess mode): the master
empties the directory when it starts (values of an earlier run would be added to this
one's), and marks a worker dead when it exits (its gauges stop counting; its counters and
histograms stay in the totals). Each worker logs JSON lines (rental.observability.logs).
"""

import logging
import os
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

from rental.observability.exposition import MULTIPROCESS_DIRECTORY
from rental.observability.logs import configure_logging

log = logging.getLogger(__name__)


def on_starting(_server: Any) -> None:
    directory = os.environ.get(MULTIPROCESS_DIRECTORY)
    if directory:
        empty_metrics_directory(Path(directory))


def post_fork(_server: Any, _worker: Any) -> None:
    configure_logging("api")


def child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def empty_metrics_directory(directory: Path) -> None:
    """Create it if need be, and remove the metric files an earlier run left."""
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink()
