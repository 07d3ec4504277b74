"""Truck crews that drive a rebalancing plan, for the demo and the tests.

A crew is a client of the platform's API like a driver's phone: at each stop it marks
the stop done, and the platform says which bikes moved. At a drop-off the crew carries
those bikes' locks to the stop, where each reports its new position as a lock would.
"""

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from simulator.simulated_lock import SimulatedLock

log = logging.getLogger(__name__)
TIMEOUT_S = 10


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def is_loopback(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in {"http", "https"} and parsed.hostname in LOOPBACK


class TruckCrews:
    def __init__(self, locks: Mapping[str, SimulatedLock], api_url: str, token: str) -> None:
        if not is_loopback(api_url):
            raise ValueError("the simulator talks to a platform on this machine only")
        self.locks = locks
        self.api = api_url.rstrip("/") + "/api/v1/ops"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def drive(self, plan_id: str) -> dict[str, int]:
        """Every truck's stops in order; returns how many bikes moved and stayed."""
        plan = self._get(f"/rebalancing/plans/{plan_id}")
        lock_of = self._locks_of(plan["city_id"])
        moved = stayed = 0
        for truck in plan["trucks"]:
            for stop in truck["stops"]:
                done = self._post(
                    f"/rebalancing/plans/{plan_id}/trucks/{truck['truck']}/stops/{stop['seq']}/done"
                )
                moved += len(done["moved"])
                stayed += len(done["not_moved"])
                if stop["action"] == "drop_off":
                    self._put_down(done["moved"], lock_of, (stop["lon"], stop["lat"]))
        return {"bikes_moved": moved, "bikes_not_moved": stayed}

    def _put_down(
        self, assets: list[str], lock_of: dict[str, str], where: tuple[float, float]
    ) -> None:
        for asset in assets:
            lock = self.locks.get(lock_of.get(asset, ""))
            if lock is None:
                log.warning("bike %s has no simulated lock here; not moved", asset)
                continue
            lock.ride([where], 0)
            lock.wait_for_ride()

    def _locks_of(self, city_id: str) -> dict[str, str]:
        assets = self._get(f"/assets?city_id={city_id}")["assets"]
        return {asset["id"]: asset["lock"]["id"] for asset in assets if asset["lock"]["id"]}

    def _get(self, path: str) -> dict[str, Any]:
        answer = self.http.get(self.api + path, timeout=TIMEOUT_S)
        answer.raise_for_status()
        return dict(answer.json())

    def _post(self, path: str) -> dict[str, Any]:
        answer = self.http.post(self.api + path, timeout=TIMEOUT_S)
        answer.raise_for_status()
        return dict(answer.json())
