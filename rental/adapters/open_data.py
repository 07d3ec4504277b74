"""What the public feeds read: a city's vehicles with their public state, kept as rows."""

import hashlib
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Select,
    Text,
    Uuid,
    any_,
    case,
    delete,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, insert

from rental.adapters.availability import damaged_assets, held_assets, in_working_order
from rental.adapters.repositories import AdvisoryLock
from rental.adapters.tables import (
    OPEN_RENTAL,
    RUNNING_CITY,
    assets,
    cities,
    locks,
    rentals,
    vehicle_status_builds,
    vehicle_status_changes,
    vehicle_status_rows,
)
from rental.domain.fleet import AssetKind, ServicePolicy
from rental.domain.gbfs import EBIKE_RANGE_METERS
from rental.services.read_models import City, RenderedVehicles


class OpenDataRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def city(self, city_id: str) -> City | None:
        row = (
            self._c.execute(
                select(
                    cities.c.id,
                    cities.c.name,
                    cities.c.timezone,
                    cities.c.currency,
                    cities.c.locale,
                ).where(cities.c.id == city_id, RUNNING_CITY)
            )
            .mappings()
            .first()
        )
        return City(**row) if row else None

    def city_ids(self) -> list[str]:
        query = select(cities.c.id).where(RUNNING_CITY).order_by(cities.c.id)
        return list(self._c.execute(query).scalars())

    def vehicles_json(
        self, city_id: str, kinds: list[str], now: datetime, policy: ServicePolicy
    ) -> RenderedVehicles:
        """GBFS `vehicles` as a JSON array, rendered by PostgreSQL: a city of 100,000
        vehicles is some 22 MB of JSON, better built where the rows are than as 100,000
        Python dicts. Vehicles in a rental are left out; the public id rotates per trip.

        Each vehicle's part is kept between renders (`vehicle_status_rows`): a render
        first writes again those changed since the last (`vehicle_status_changes`, noted
        by triggers), or all of them when the city has no build under these rules, then
        joins them. Renders of a city take turns; writes to the primary. The changes it
        rendered are forgotten once it is committed (`forget_changes`), in a transaction
        of their own: forgetting locks their notes, which writers of those vehicles would
        wait for until the render's transaction ends."""
        self._c.execute(
            select(
                func.pg_advisory_xact_lock(
                    int(AdvisoryLock.VEHICLE_STATUS_ROWS), func.hashtext(city_id)
                )
            )
        )
        noted = vehicle_status_changes.c
        # A vehicle in a rental is not listed, and every fix of a riding bike notes it: its
        # row waits, its change noted, until the rental is over (a trip's end rotates the
        # public id, which notes it too). Nor is it listed by this render if its rental
        # ends meanwhile: its row is from before the trip.
        rented = select(rentals.c.id).where(rentals.c.asset_id == noted.asset_id, OPEN_RENTAL)
        notes = self._c.execute(
            select(noted.asset_id, noted.version, rented.exists().label("rented")).where(
                noted.city_id == city_id
            )
        ).all()
        changed = [note for note in notes if not note.rented]
        waiting = [note.asset_id for note in notes if note.rented]
        rules = _rules(tuple(sorted(kinds)), policy.low_battery_pct)
        built = self._c.execute(
            select(vehicle_status_builds.c.rules).where(vehicle_status_builds.c.city_id == city_id)
        ).scalar()
        if built != rules:
            self._build(city_id, kinds, policy, rules)
        elif changed:
            self._rebuild_changed(city_id, [row.asset_id for row in changed], kinds, policy)
        joined = _joined_rows(city_id, now, policy, waiting)
        rendered = str(self._c.execute(joined).scalar_one())
        return RenderedVehicles(rendered, tuple((row.asset_id, row.version) for row in changed))

    def _build(self, city_id: str, kinds: list[str], policy: ServicePolicy, rules: str) -> None:
        self._keep(_vehicle_rows(kinds, policy).where(assets.c.city_id == city_id), city_id)
        built = insert(vehicle_status_builds).values(city_id=city_id, rules=rules)
        self._c.execute(
            built.on_conflict_do_update(
                index_elements=[vehicle_status_builds.c.city_id], set_={"rules": rules}
            )
        )

    def _rebuild_changed(
        self, city_id: str, asset_ids: list[UUID], kinds: list[str], policy: ServicePolicy
    ) -> None:
        """A vehicle that left the city (or the feed) loses the city's row of it; one that
        came in, or changed, gets its row written again. The city it left or came from
        does the same with its own row, at its own render."""
        changed = _vehicle_rows(kinds, policy).where(
            assets.c.city_id == city_id, assets.c.id == any_(_uuids(asset_ids))
        )
        self._keep(changed, city_id, among=asset_ids)

    def _keep(self, rows: Select[Any], city_id: str, among: list[UUID] | None = None) -> None:
        """Stores `rows` in place of the vehicles' rows (an update in place where the page
        has room), then drops the city's other rows (of `among` only, if given)."""
        stored = _stored(rows).returning(vehicle_status_rows.c.asset_id)
        kept = list(self._c.execute(stored).scalars())
        gone = delete(vehicle_status_rows).where(vehicle_status_rows.c.city_id == city_id)
        if among is None:
            gone = gone.where(
                vehicle_status_rows.c.asset_id.not_in(select(func.unnest(_uuids(kept))))
            )
        else:
            left = set(among) - set(kept)
            if not left:
                return
            gone = gone.where(vehicle_status_rows.c.asset_id == any_(_uuids(list(left))))
        self._c.execute(gone)

    def forget_changes(self, city_id: str, changes: Sequence[tuple[UUID, int]]) -> None:
        """Changes are forgotten once rendered, unless noted again meanwhile (a higher
        version) or being noted now (locked by a writer's transaction: skipped rather than
        waited for, so that forgetting never waits for telemetry or an unlock)."""
        if not changes:
            return
        self._c.execute(
            text(
                """
                DELETE FROM vehicle_status_changes AS noted USING (
                    SELECT ctid FROM vehicle_status_changes AS change
                    WHERE city_id = :city_id AND (asset_id, version) IN (
                        SELECT * FROM unnest(
                            CAST(:asset_ids AS uuid[]), CAST(:versions AS bigint[])
                        )
                    )
                    FOR UPDATE SKIP LOCKED
                ) AS rendered
                WHERE noted.ctid = rendered.ctid
                """
            ),
            {
                "city_id": city_id,
                "asset_ids": [asset_id for asset_id, _ in changes],
                "versions": [version for _, version in changes],
            },
        )


def _uuids(ids: list[UUID]) -> Any:
    """One array parameter, where `in_()` would send (and plan) a parameter per id."""
    return literal(ids, ARRAY(Uuid()))


@cache
def _rules(kinds: tuple[str, ...], low_battery_pct: int) -> str:
    """What a city's kept rows depend on beyond its vehicles: the statement that makes
    them, as written out with its constants (kinds, battery threshold, an e-bike's range).
    A render under other rules (a new release, another threshold) builds them all again."""
    made = _vehicle_rows(list(kinds), ServicePolicy(low_battery_pct=low_battery_pct))
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    written = made.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return hashlib.sha256(str(written).encode()).hexdigest()


def _vehicle_rows(kinds: list[str], policy: ServicePolicy) -> Select[Any]:
    """Each located vehicle of `kinds` as kept in `vehicle_status_rows`: its JSON object
    but for `is_reserved` and `is_disabled` and the closing brace, which depend on the
    time of the render. How its time is spent was measured with EXPLAIN ANALYZE
    (docs/performance.md):
    - each vehicle is one concat() of JSON fragments: json_build_object looks up the type
      of each of its arguments again for every vehicle, and took two thirds of the time;
    - its lock is looked up by primary key (a LATERAL ... LIMIT 1): joining all locks by
      hash read every lock of every city to find this city's."""
    device = (
        select(
            locks.c.position,
            locks.c.battery_pct,
            locks.c.online,
            locks.c.last_seen_at,
            locks.c.locked,
            locks.c.latch_unknown_since,
        )
        .where(locks.c.id == assets.c.device_id, locks.c.position.isnot(None))
        .limit(1)
        .lateral("device")
    )
    charge = device.c.battery_pct / 100.0
    body = _json_text(
        '{"vehicle_id":"',
        assets.c.public_id,  # a UUID the database made: nothing in it to escape
        '","lat":',
        _micro_degrees(func.ST_Y(device.c.position, type_=Float)),
        ',"lon":',
        _micro_degrees(func.ST_X(device.c.position, type_=Float)),
        ',"vehicle_type_id":"',
        assets.c.kind,  # one of `kinds`, ours
        '","pricing_plan_id":"',
        assets.c.kind,
        # RFC 3339 with its offset, which JSON's own rendering of a timestamptz is.
        '","last_reported":',
        func.coalesce(
            func.to_json(func.date_trunc("second", device.c.last_seen_at)).cast(Text),
            _sql("null"),
        ),
        case(  # NULL, which concat() leaves out, for all but charged e-bikes
            (
                (assets.c.kind == AssetKind.EBIKE.value) & device.c.battery_pct.isnot(None),
                _json_text(
                    ',"current_fuel_percent":',
                    charge,
                    ',"current_range_meters":',
                    charge * EBIKE_RANGE_METERS,
                ),
            )
        ),
    )
    # `serviceable` but for the silence and damage, judged at the render (`_joined_rows`).
    fit = func.coalesce(in_working_order(policy.low_battery_pct, device), false())
    return (
        select(assets.c.id, assets.c.city_id, body, fit, device.c.last_seen_at)
        .select_from(assets)
        .join(device, true())
        .where(assets.c.kind.in_(kinds))
    )


def _stored(rows: Select[Any]) -> Any:
    """Rows of `_vehicle_rows` kept, in place of the city's row of the same vehicle."""
    columns = ["asset_id", "city_id", "body", "fit", "last_seen_at"]
    statement = insert(vehicle_status_rows).from_select(columns, rows)
    return statement.on_conflict_do_update(
        index_elements=[vehicle_status_rows.c.city_id, vehicle_status_rows.c.asset_id],
        set_={name: statement.excluded[name] for name in columns[2:]},
    )


def _joined_rows(
    city_id: str, now: datetime, policy: ServicePolicy, waiting: list[UUID]
) -> Select[Any]:
    """The city's kept rows as one JSON array, each closed with what holds at `now`, but
    those of `waiting` (vehicles whose rows wait for their rental's end); holds and damage
    are a hash lookup per vehicle, rentals an anti-join."""
    row = vehicle_status_rows.c
    held = row.asset_id.in_(held_assets(now))
    fit = row.fit & (row.last_seen_at >= now - policy.silence) & ~row.asset_id.in_(damaged_assets())
    # `||` of three texts: concat() of six values took a sixth longer.
    vehicle = (
        row.body
        + case((held, _sql(',"is_reserved":true')), else_=_sql(',"is_reserved":false'))
        + case((fit, _sql(',"is_disabled":false}')), else_=_sql(',"is_disabled":true}'))
    )
    rented = select(rentals.c.id).where(rentals.c.asset_id == row.asset_id, OPEN_RENTAL).exists()
    listed = func.string_agg(vehicle, _sql(","), type_=Text)
    query = (
        select(func.coalesce(_sql("[") + listed + _sql("]"), _sql("[]")))
        .where(row.city_id == city_id)
        .where(~rented)
    )
    if waiting:
        query = query.where(row.asset_id.not_in(select(func.unnest(_uuids(waiting)))))
    return query


def _sql(constant: str) -> ColumnElement[str]:
    """A text constant written into the statement (no bind parameter per use)."""
    return literal_column(f"'{constant}'", Text)


def _json_text(*parts: str | ColumnElement[Any]) -> ColumnElement[str]:
    """One text of JSON fragments (given as str) and values: concat() writes each value
    with its type's output function, and leaves NULLs out."""
    written = [_sql(part) if isinstance(part, str) else part for part in parts]
    return func.concat(*written, type_=Text)


def _micro_degrees(degrees: ColumnElement[float]) -> ColumnElement[Any]:
    """Rounded to 6 decimals (0.1 m) in floating point, which PostgreSQL writes in the
    fewest digits that read back the same: no numeric arithmetic per vehicle."""
    return func.round(degrees * 1e6, type_=Float) / 1e6
