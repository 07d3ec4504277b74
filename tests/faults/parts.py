"""The pieces a fault test handles: bikes, riders, cities, and the API server."""

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server

from rental.app import create_app
from rental.bootstrap import Platform
from rental.domain.pricing import Tariff

# Short enough for a suite of a few minutes; the sweeper adds its own grace on top.
UNLOCK_TIMEOUT_SECONDS = 3
# A bike's price: 1.50 per started half hour, and a fee for parking outside the area.
FARE = Tariff(
    "CNY", 0, rate_per_interval_minor=150, interval_seconds=1800, out_of_zone_fee_minor=500
)

METRES_PER_DEGREE = 111_320.0  # of latitude, and of longitude at the equator


@dataclass(frozen=True)
class Bike:
    code: str
    lock_id: str
    city_id: str
    mqtt_password: str
    signing_key: str
    lon: float
    lat: float

    def fleet_entry(self) -> dict[str, Any]:
        return {
            "lock_id": self.lock_id,
            "mqtt_password": self.mqtt_password,
            "signing_key": self.signing_key,
            "lon": self.lon,
            "lat": self.lat,
        }


@dataclass
class Rider:
    id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class City:
    id: str
    lon: float
    lat: float
    bikes: list[Bike] = field(default_factory=list)


class ApiServer:
    def __init__(self, platform: Platform) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per monitor sample
        self._server = make_server("127.0.0.1", 0, create_app(platform=platform), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
