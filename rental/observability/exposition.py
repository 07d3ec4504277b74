"""Where each process's metrics are read from.

- The API under gunicorn runs several worker processes: prometheus-client's multiprocess
  mode (PROMETHEUS_MULTIPROC_DIR, a directory the workers write their values to, emptied
  when gunicorn starts: `rental.entrypoints.gunicorn_config`). `/metrics` on the API
  (`rental.api.observability`) reads them all.
- lockctl and the nightly job are one process each: their own small HTTP server on a
  loopback port (LOCKCTL_METRICS_PORT, REBALANCING_METRICS_PORT; 0 for none).
"""

import logging
import os

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
LOOPBACK = "127.0.0.1"


def serve_metrics(port: int) -> None:
    """Serve this process's metrics on http://127.0.0.1:<port>/metrics (a daemon thread);
    nothing when `port` is 0. Loopback only: a Prometheus on the host (or an agent that
    forwards) scrapes it; nothing from the network reaches it. A port already taken is
    logged, and the process goes on without metrics."""
    if not port:
        return
    try:
        start_http_server(port, addr=LOOPBACK)
    except OSError as error:  # the process's work matters more than its metrics
        log.error("metrics not served on port %d: %s", port, error)
        return
    log.info("metrics on http://%s:%d/metrics", LOOPBACK, port)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIRECTORY))


def scrape_registry() -> CollectorRegistry:
    """What a scrape of this process reads: every worker's values in multiprocess mode
    (a registry made per scrape, as prometheus-client's documentation does), else this
    process's own."""
    if not multiprocess():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
