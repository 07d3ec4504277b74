"""The fleet's locks online and offline, read from the database when Prometheus scrapes
(one short query per scrape) rather than counted as reports arrive: any API worker can
answer, and the number is right even after a restart."""

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


class LockPresence(Collector):
    """`rental_locks{state="online"|"offline"}`; nothing when the database does not answer
    (the scrape still succeeds, and /readyz says what is wrong)."""

    def __init__(self, count: Callable[[], Mapping[str, int]]) -> None:
        self._count = count

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = self._count()
        except Exception as error:  # a scrape must not fail because one source is away
            log.warning("locks online/offline not read: %s", error)
            return
        family = GaugeMetricFamily(
            "rental_locks",
            "Locks by presence: online (connected, heard within LOCK_SILENCE_SECONDS) or offline.",
            labels=["state"],
        )
        for state, number in sorted(counts.items()):
            family.add_metric([state], number)
        yield family
