"""The simulator's control API on loopback: play riders and break locks on demand.

GET  /locks                     every lock and its state
GET  /locks/{id}                one lock
POST /locks/{id}/ride           {"points": [[lon, lat], ...], "interval_s": 1.0}
POST /locks/{id}/close          the rider shuts the lock (offline too: the event waits in
                                the outbox for the next connection)
POST /locks/{id}/offline        drop off the network (the broker sends the Will)
POST /locks/{id}/online         come back (a reboot: new boot number); 503 if the broker
                                cannot be reached or refuses the lock
POST /locks/{id}/return         {"item": code, "slot": n (optional)}: a cabinet takes an item
                                back; 409 if the item already sits in a slot of the fleet
POST /locks/{id}/battery        {"battery_pct": 0-100}: set the charge, report it at once
POST /locks/{id}/faults         {"never_confirm", "reject_with", "duplicate_events",
                                 "unlock_delay_ms", "drop_acks"}
POST /plans/{id}/drive          {"api_url": "http://127.0.0.1:8000", "token": operator's}:
                                truck crews drive a rebalancing plan, in the background

Every lock's view shows its outbox: `outbox` (events not acknowledged yet),
`outbox_dropped` (lost because it was full) and `bad_acks` (acks refused); and `rings`, the
`ring` commands it sounded its bell for (`{cmd_id, at_ms}`; only signed, fresh ones).
Wrong input is answered 400, never 500.
"""

import math
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeGuard

from flask import Flask, Response, jsonify, request

from rental.adapters.locks.mqtt import MqttError
from rental.adapters.locks.protocol import MAX_TEXT
from simulator.fleet import Fleet, SimulatedLock
from simulator.lock import Faults
from simulator.trucks import TruckCrews, is_loopback

MAX_RIDE_POINTS = 10_000
# A command lives at most 60 s: a latch slower than that never answers in time anyway.
MAX_UNLOCK_DELAY_MS = 60_000


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def create_control_app(fleet: Fleet) -> Flask:
    app = Flask("simulator")

    def lock_or_404(lock_id: str) -> SimulatedLock:
        lock = fleet.locks.get(lock_id)
        if lock is None:
            raise ControlError(404, f"no simulated lock {lock_id}")
        return lock

    @app.errorhandler(ControlError)
    def control_error(error: ControlError) -> tuple[Response, int]:
        return jsonify(error={"message": str(error)}), error.status

    @app.get("/locks")
    def list_locks() -> dict[str, Any]:
        return {"locks": [_view(lock) for lock in fleet.locks.values()]}

    @app.get("/locks/<lock_id>")
    def show_lock(lock_id: str) -> dict[str, Any]:
        return _view(lock_or_404(lock_id))

    @app.post("/locks/<lock_id>/ride")
    def ride(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        body = _body()
        points = _points(body.get("points"))
        interval = body.get("interval_s", 1.0)
        if not _is_number(interval) or not 0 <= interval <= 60:
            raise ControlError(400, "interval_s must be a number of seconds between 0 and 60")
        lock.ride(points, float(interval))
        return _view(lock)

    @app.post("/locks/<lock_id>/close")
    def close(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        lock.close()
        return _view(lock)

    @app.post("/locks/<lock_id>/offline")
    def offline(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        lock.go_offline()
        return _view(lock)

    @app.post("/locks/<lock_id>/online")
    def online(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        try:
            lock.go_online()
        except MqttError as error:
            raise ControlError(503, f"lock {lock_id} cannot connect: {error}") from None
        return _view(lock)

    @app.post("/locks/<lock_id>/return")
    def take_back(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        body = _body()
        item, slot = body.get("item"), body.get("slot")
        if not _is_text(item) or not (slot is None or _is_integer(slot, 1, 10_000)):
            raise ControlError(400, "item is the item's code; slot, if given, a slot number")
        try:
            fleet.take_back(lock_id, item, slot)
        except ValueError as error:
            raise ControlError(409, str(error)) from None
        return _view(lock)

    @app.post("/locks/<lock_id>/battery")
    def battery(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        level = _body().get("battery_pct")
        if not _is_integer(level, 0, 100):
            raise ControlError(400, "battery_pct must be an integer from 0 to 100")
        lock.logic.battery_pct = level
        lock.report()
        return _view(lock)

    @app.post("/locks/<lock_id>/faults")
    def set_faults(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        body = _body()
        if set(body) - set(FAULT_CHECKS):
            raise ControlError(400, f"faults are an object with keys among {sorted(FAULT_CHECKS)}")
        wrong = sorted(name for name, value in body.items() if not FAULT_CHECKS[name](value))
        if wrong:
            raise ControlError(400, f"wrong value for {', '.join(wrong)}: {FAULT_RULES}")
        lock.logic.faults = Faults(**{**asdict(lock.logic.faults), **body})
        return _view(lock)

    @app.post("/plans/<plan_id>/drive")
    def drive(plan_id: str) -> tuple[dict[str, Any], int]:
        body = _body()
        api_url, token = body.get("api_url"), body.get("token")
        if not isinstance(api_url, str) or not is_loopback(api_url) or not isinstance(token, str):
            raise ControlError(400, "api_url (on this machine) and an operator's token are needed")
        crews = TruckCrews(fleet.locks, api_url, token)
        threading.Thread(target=crews.drive, args=(plan_id,), daemon=True).start()
        return {"plan_id": plan_id, "driving": True}, 202

    return app


def _body() -> dict[str, Any]:
    """The JSON object sent; none (or not JSON) reads as {}, anything else is refused."""
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _is_number(value: object) -> TypeGuard[int | float]:
    # JSON true is a Python int; NaN and Infinity parse too, and are no position or time.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: object, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_text(value: object) -> TypeGuard[str]:
    """What the protocol lets a lock send as a string (an item code, a reason)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TEXT
        and not any(ord(c) < 0x20 for c in value)
    )


def _is_flag(value: object) -> bool:
    return isinstance(value, bool)


# One check per fault; a fault added to Faults without one is refused (and a test says so).
FAULT_CHECKS: dict[str, Callable[[object], bool]] = {
    "never_confirm": _is_flag,
    "reject_with": lambda value: value is None or _is_text(value),
    "duplicate_events": _is_flag,
    "unlock_delay_ms": lambda value: _is_integer(value, 0, MAX_UNLOCK_DELAY_MS),
    "drop_acks": _is_flag,
}
FAULT_RULES = (
    "never_confirm, duplicate_events and drop_acks are true or false; reject_with is null or "
    f"a reason of 1 to {MAX_TEXT} characters; unlock_delay_ms is 0 to {MAX_UNLOCK_DELAY_MS}"
)


def _points(raw: object) -> list[tuple[float, float]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_RIDE_POINTS:
        raise ControlError(400, f"points must be a list of 1 to {MAX_RIDE_POINTS} [lon, lat] pairs")
    points = []
    for point in raw:
        if (
            not isinstance(point, list)
            or len(point) != 2
            or not all(_is_number(value) for value in point)
            or not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90)
        ):
            raise ControlError(400, "each point is [lon, lat] in degrees")
        points.append((float(point[0]), float(point[1])))
    return points


def _view(lock: SimulatedLock) -> dict[str, Any]:
    logic = lock.logic
    return {
        "lock_id": logic.lock_id,
        "online": lock.online,
        "locked": logic.locked,
        "boot": logic.boot,
        "position": {"lon": logic.lon, "lat": logic.lat},
        "battery_pct": logic.battery_pct,
        "faults": asdict(logic.faults),
        "rejected": list(logic.rejected),
        "outbox": lock.outbox_size,
        "outbox_dropped": logic.outbox.dropped,
        "bad_acks": logic.bad_acks,
        "rings": [{"cmd_id": cmd_id, "at_ms": at} for cmd_id, at in logic.rings],
        **({"slots": {str(n): item for n, item in logic.slots.items()}} if logic.slots else {}),
    }
