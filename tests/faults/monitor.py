"""What riders are shown, sampled all along a test: an open bike must never be offered.

The latch's truth is the lock's own events (tests.faults.truth); the platform gets
HIDE_GRACE_S after the latch opened to hide the bike (the event's trip through the
broker and lockctl, and the monitor's own requests).
"""

import threading
import time
from typing import Any

import requests

from tests.faults.system import City, FaultSystem, Simulator
from tests.faults.truth import clock

HIDE_GRACE_S = 1.5
SAMPLE_INTERVAL_S = 0.5


class AvailabilityMonitor:
    """Polls what riders see while a test runs, and notes each open bike shown available."""

    def __init__(
        self, system: FaultSystem, cities: list[City], simulators: list[Simulator]
    ) -> None:
        self.system = system
        self.cities = cities
        self.simulators = simulators
        self.samples = 0
        # (bike, what was wrong, since when) -> [first seen, last seen, samples]
        self._seen: dict[tuple[str, str, float], list[float]] = {}
        self._failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="availability", daemon=True)

    @property
    def violations(self) -> list[str]:
        found = [
            f"{code} {what} from {clock(first)} to {clock(last)} ({int(count)} samples)"
            for (code, what, _), (first, last, count) in self._seen.items()
        ]
        return found + self._failures

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            try:
                self.sample()
            except (requests.RequestException, ValueError, KeyError):
                pass  # the API is down with the database: nothing shown, nothing wrong
            except Exception as error:  # a sampler must not die silently
                self._failures.append(f"the availability monitor failed: {error!r}")

    def sample(self) -> None:
        before = time.time()
        shown = {}
        for city in self.cities:
            shown.update(shown_available(self.system, city))
        after = time.time()
        self.samples += 1
        for city in self.cities:
            for bike in city.bikes:
                where = shown.get(bike.code)
                if where is None:
                    continue
                if where["battery_pct"] is not None and where["battery_pct"] > 100:
                    self._note(bike.code, f"shown with battery {where['battery_pct']} %", 0, before)
                for period in self.system.wiretap.latch_periods(bike.lock_id):
                    if period.open_at(before - HIDE_GRACE_S) and period.open_at(after):
                        what = (
                            f"shown available ({where['by']}) with its latch open since "
                            f"{clock(period.opened.ts_s)}"
                        )
                        self._note(bike.code, what, period.opened.ts_s, before)

    def _note(self, code: str, what: str, since: float, moment: float) -> None:
        seen = self._seen.setdefault((code, what, since), [moment, moment, 0])
        seen[1], seen[2] = moment, seen[2] + 1


def shown_available(system: FaultSystem, city: City) -> dict[str, dict[str, Any]]:
    """Codes riders can see as available in this city, with where and what battery."""
    found: dict[str, dict[str, Any]] = {}
    nearby = system.http.get(
        f"{system.api.url}/api/v1/vehicles/nearby",
        params={"lon": city.lon, "lat": city.lat, "radius_m": 5000, "limit": 100},
        timeout=10,
    )
    nearby.raise_for_status()
    codes = {bike.code for bike in city.bikes}
    for vehicle in nearby.json()["vehicles"]:
        if vehicle["code"] in codes:
            found[vehicle["code"]] = {"by": "nearby", "battery_pct": vehicle["battery_pct"]}
    feed = system.http.get(f"{system.api.url}/gbfs/v3/{city.id}/vehicle_status.json", timeout=10)
    feed.raise_for_status()
    public = system.public_ids(city.id)
    for vehicle in feed.json()["data"]["vehicles"]:
        if vehicle["is_reserved"] or vehicle["is_disabled"]:
            continue
        code = public.get(vehicle["vehicle_id"])
        if code is not None:
            fuel = vehicle.get("current_fuel_percent")
            battery = None if fuel is None else round(fuel * 100)
            found.setdefault(code, {"by": "GBFS", "battery_pct": battery})
    return found
