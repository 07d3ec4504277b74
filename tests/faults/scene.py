"""One test's world: a city of its own, its bikes in a simulator process, and a monitor of
what riders see, so the checks at the end look at this test's bikes only."""

import random
from collections.abc import Callable
from typing import Any

from tests.faults.invariants import check
from tests.faults.monitor import AvailabilityMonitor
from tests.faults.system import Bike, FaultSystem, Rider


class Scene:
    def __init__(
        self,
        system: FaultSystem,
        bikes: int = 1,
        zones: Callable[[float, float], dict[str, Any]] | None = None,
        rng: random.Random | None = None,
        **simulator_options: float,
    ) -> None:
        self.system = system
        self.city = system.city(rng, zones)
        self.bikes = system.bikes(self.city, bikes, rng)
        self.sim = system.simulate(self.bikes, **simulator_options)
        self.monitor = AvailabilityMonitor(system, [self.city], [self.sim])
        self.monitor.start()

    def start_ride(self, bike: Bike, rider: Rider | None = None) -> tuple[Rider, str]:
        """A rider scans the bike and the lock opens: the rental is active."""
        rider = rider or self.system.rider()
        rental_id = str(self.system.scan(rider, bike)["id"])
        self.system.wait_rental(rental_id, "active", timeout=10)
        return rider, rental_id

    def ride(self, bike: Bike, legs: int = 8, interval_s: float = 0.25) -> None:
        self.sim.ride(bike.lock_id, self.system.ride_route(bike, legs), interval_s)

    def close(self, bike: Bike) -> tuple[float, float]:
        return self.system.close(self.sim, bike)

    def check(self, settle_s: float = 20) -> list[str]:
        self.monitor.stop()
        return check(self.system, [self.city], self.monitor, settle_s)
