"""The end of a ride at its lock's close: the trace kept of it, where it was parked, the
fare.

The close is the lock's (a `locked` event, telemetry saying `locked`, or one the
reconciling pass found); its time and position come from the lock, the trace from the
good fixes between the unlock and the close (docs/lock-protocol.md §6). Shapely only
writes the trace as WKT for the repository: no I/O, so it may stay in the use case.
"""

from datetime import datetime

from shapely.geometry import LineString

from rental.domain.funnel import Step
from rental.domain.mds import VehicleEvent
from rental.domain.rentals import Rental
from rental.domain.trace import EndPosition, Fix, ended_trace, path_length_m, speed_samples
from rental.domain.zones import UNKNOWN_POSITION, ParkingVerdict, parking_verdict
from rental.services import zones
from rental.services.funnel import rental_followed
from rental.services.settlement import settle
from rental.services.unit_of_work import UnitOfWork


def end_trip(
    uow: UnitOfWork, rental: Rental, at: datetime, reported: Fix | None, wallet_floor_minor: int
) -> None:
    """End an active ride at `at` (the lock's time of the close): trace, parking, fare."""
    assert rental.started_at is not None
    until = max(at, rental.started_at)
    trace = ended_trace(
        uow.lock_log.fixes_between(rental.lock_id, rental.started_at, until), reported
    )
    good, end = trace.good, trace.end
    rental.end(until, path_length_m(good))
    _store_trace(uow, rental, good, end)
    asset = uow.assets.get(rental.asset_id)
    assert asset is not None
    verdict = _parking_verdict(uow, asset.city_id, end)
    rental.judge_parking(verdict, end.doubt)
    uow.rentals.save(rental)
    uow.assets.set_needs_retrieval(asset.id, verdict.needs_retrieval)
    uow.assets.rotate_public_id(asset.id)
    zones.record_speeding(uow, rental.id, asset.city_id, speed_samples(good))
    assert rental.ended_at is not None
    uow.vehicle_history.record(
        VehicleEvent.TRIP_END,
        rental.ended_at,
        asset_id=asset.id,
        rental_id=rental.id,
        lon=end.lon,
        lat=end.lat,
    )
    settle(uow, rental, wallet_floor_minor, parking_violation=verdict.charge_fee)
    rental_followed(uow, rental.id, Step.RIDE_ENDED, rental.ended_at)


def _store_trace(uow: UnitOfWork, rental: Rental, good: list[Fix], end: EndPosition) -> None:
    path = [(fix.lon, fix.lat) for fix in good]
    if end.lon is not None and end.lat is not None:
        uow.rentals.set_end_position(rental.id, end.lon, end.lat)
        if not path or path[-1] != (end.lon, end.lat):
            path.append((end.lon, end.lat))
    rental.distance_m = (
        uow.rentals.set_trace(rental.id, LineString(path).wkt) if len(path) > 1 else 0.0
    )


def _parking_verdict(uow: UnitOfWork, city_id: str, end: EndPosition) -> ParkingVerdict:
    if end.lon is None or end.lat is None:
        return UNKNOWN_POSITION
    here = uow.zones.at_position(city_id, end.lon, end.lat)
    return parking_verdict(here.inside_service_area, here.kinds, doubtful=end.doubt is not None)
