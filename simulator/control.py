"""The simulator's control API on loopback: play riders and break locks on demand.

GET  /locks                     every lock and its state
GET  /locks/{id}                one lock
POST /locks/{id}/ride           {"points": [[lon, lat], ...], "interval_s": 1.0}
POST /locks/{id}/close          the rider shuts the lock
POST /locks/{id}/offline        drop off the network (the broker sends the Will)
POST /locks/{id}/online         come back (a reboot: new boot number)
POST /locks/{id}/return         {"item": code, "slot": n (optional)}: a cabinet takes an item back
POST /locks/{id}/battery        {"battery_pct": 0-100}: set the charge, report it at once
POST /locks/{id}/faults         {"never_confirm", "reject_with",
                                     "duplicate_events", "unlock_delay_ms"}
POST /plans/{id}/drive          {"api_url": "http://127.0.0.1:8000", "token": operator's}:
                                truck crews drive a rebalancing plan, in the background
"""

import threading
from dataclasses import asdict, fields
from typing import Any

from flask import Flask, Response, jsonify, request

from simulator.fleet import Fleet, SimulatedLock
from simulator.lock import Faults
from simulator.trucks import TruckCrews, is_loopback

MAX_RIDE_POINTS = 10_000


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
        body = request.get_json(silent=True) or {}
        points = _points(body.get("points"))
        interval = body.get("interval_s", 1.0)
        if not isinstance(interval, int | float) or not 0 <= interval <= 60:
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
        lock.go_online()
        return _view(lock)

    @app.post("/locks/<lock_id>/return")
    def take_back(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        body = request.get_json(silent=True) or {}
        item = body.get("item") if isinstance(body, dict) else None
        slot = body.get("slot") if isinstance(body, dict) else None
        if not isinstance(item, str) or not (slot is None or isinstance(slot, int)):
            raise ControlError(400, "item is the item's code; slot, if given, a slot number")
        try:
            lock.take_back(item, slot)
        except ValueError as error:
            raise ControlError(409, str(error)) from None
        return _view(lock)

    @app.post("/locks/<lock_id>/battery")
    def battery(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        body = request.get_json(silent=True) or {}
        level = body.get("battery_pct") if isinstance(body, dict) else None
        if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
            raise ControlError(400, "battery_pct must be an integer from 0 to 100")
        lock.logic.battery_pct = level
        lock.report()
        return _view(lock)

    @app.post("/locks/<lock_id>/faults")
    def set_faults(lock_id: str) -> dict[str, Any]:
        lock = lock_or_404(lock_id)
        body = request.get_json(silent=True) or {}
        known = {f.name for f in fields(Faults)}
        if not isinstance(body, dict) or set(body) - known:
            raise ControlError(400, f"faults are an object with keys among {sorted(known)}")
        lock.logic.faults = Faults(**{**asdict(lock.logic.faults), **body})
        return _view(lock)

    @app.post("/plans/<plan_id>/drive")
    def drive(plan_id: str) -> tuple[dict[str, Any], int]:
        body = request.get_json(silent=True) or {}
        api_url, token = body.get("api_url"), body.get("token")
        if not isinstance(api_url, str) or not is_loopback(api_url) or not isinstance(token, str):
            raise ControlError(400, "api_url (on this machine) and an operator's token are needed")
        crews = TruckCrews(fleet.locks, api_url, token)
        threading.Thread(target=crews.drive, args=(plan_id,), daemon=True).start()
        return {"plan_id": plan_id, "driving": True}, 202

    return app


def _points(raw: object) -> list[tuple[float, float]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_RIDE_POINTS:
        raise ControlError(400, f"points must be a list of 1 to {MAX_RIDE_POINTS} [lon, lat] pairs")
    points = []
    for point in raw:
        if (
            not isinstance(point, list)
            or len(point) != 2
            or not all(isinstance(value, int | float) for value in point)
        ):
            raise ControlError(400, "each point is [lon, lat]")
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
        **({"slots": {str(n): item for n, item in logic.slots.items()}} if logic.slots else {}),
    }
