"""The Grafana dashboard (deploy/grafana/rental.json) is valid JSON, its panels do not
overlap, and every metric it queries is one the platform exports: a renamed metric
breaks this test, not an operator's dashboard."""

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import rental.api.observability
import rental.observability.lockctl
import rental.observability.rebalancing
import rental.observability.unlocks  # noqa: F401  (their metrics register on import)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "rental.json"
METRIC = re.compile(r"\b((?:rental|lockctl)_[a-z_]+)")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")
# Collected from the database at scrape time (rental.observability.fleet), not registered.
SCRAPE_TIME = {"rental_locks"}


def exported() -> set[str]:
    names = set(SCRAPE_TIME)
    for family in REGISTRY.collect():
        names.update(sample.name for sample in family.samples)
        names.add(family.name)
    return names


def test_every_metric_the_dashboard_queries_is_exported():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queried = {
        name
        for panel in panels
        for target in panel["targets"]
        for name in METRIC.findall(target["expr"])
    }
    assert queried, "the dashboard queries nothing"
    known = exported()
    for name in queried:
        base = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)
        assert name in known or base in known, f"{name} is not exported"


def test_the_dashboards_panels_do_not_overlap():
    cells: set[tuple[int, int]] = set()
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        place = panel["gridPos"]
        mine = {
            (x, y)
            for x in range(place["x"], place["x"] + place["w"])
            for y in range(place["y"], place["y"] + place["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        assert place["x"] + place["w"] <= 24
        cells |= mine
