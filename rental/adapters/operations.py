"""The dashboard's figures, computed by PostgreSQL over a city's rentals, vehicles, zones
and ledger (`rental.services.repositories.operations`).

Days and hours are the city's own (its IANA time zone): a day's rides are those that
started between its local midnights. Revenue is the platform revenue account's postings
for the city's fares and holds, less refunds of its disputes; the ledger's references
(`fare:<rental>`, `reservation:<hold>`, `dispute:<dispute>`) tie each to its city.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Float, and_, cast, extract, func, or_, select, text

from rental.adapters.availability import available_to_riders
from rental.adapters.rebalancing_night import HOTSPOT_KIND
from rental.adapters.tables import (
    accounts,
    assets,
    ledger_transactions,
    locks,
    payment_orders,
    postings,
    refunds,
    rentals,
    zones,
)
from rental.domain.fleet import VEHICLE_KINDS, ServicePolicy
from rental.services.attention_items import Attention, AttentionKind
from rental.services.dashboard_figures import DayFigures, HotspotFigures, HourFigures, UnlockFigures
from rental.services.repositories.operations import Cell

VEHICLE_KIND_VALUES = [kind.value for kind in VEHICLE_KINDS]
# Exports read this many rows at a time (a server-side cursor), not the whole table.
STREAMED_ROWS = 1000
MORNING_HOURS = (6, 10)  # local time, [start, end): as rebalancing.demand counts

_RIDES_BY_HOUR = text("""
WITH hours AS (
    SELECT generate_series(
        date_trunc('hour', timezone(:tz, :now)) - interval '23 hours',
        date_trunc('hour', timezone(:tz, :now)),
        interval '1 hour'
    ) AS hour
), started AS (
    SELECT date_trunc('hour', timezone(:tz, r.started_at)) AS hour
    FROM rentals r JOIN assets a ON a.id = r.asset_id
    WHERE a.city_id = :city
      AND r.started_at > :now - interval '25 hours' AND r.started_at <= :now
)
SELECT hours.hour, count(started.hour) AS rides
FROM hours LEFT JOIN started ON started.hour = hours.hour
GROUP BY hours.hour ORDER BY hours.hour
""")

# A ledger transaction's city, from what its reference names.
_DAYS = text("""
WITH days AS (
    SELECT day::date AS day
    FROM generate_series(
        timezone(:tz, :now)::date - (:days - 1), timezone(:tz, :now)::date, interval '1 day'
    ) AS day
), bounds AS (
    SELECT timezone(:tz, min(day)::timestamp) AS since FROM days
), rides AS (
    SELECT timezone(:tz, r.started_at)::date AS day, count(*) AS rides,
           count(DISTINCT r.asset_id) FILTER (WHERE a.kind = ANY(:kinds)) AS ridden
    FROM rentals r JOIN assets a ON a.id = r.asset_id, bounds
    WHERE a.city_id = :city AND r.started_at >= bounds.since AND r.started_at <= :now
    GROUP BY 1
), revenue AS (
    SELECT timezone(:tz, t.created_at)::date AS day, sum(p.amount_minor) AS minor
    FROM postings p
    JOIN accounts acc ON acc.id = p.account_id AND acc.kind = 'platform_revenue'
    JOIN ledger_transactions t ON t.id = p.transaction_id, bounds
    WHERE t.created_at >= bounds.since AND t.created_at <= :now
      AND :city = CASE split_part(t.reference, ':', 1)
        WHEN 'fare' THEN (
            SELECT a.city_id FROM rentals r JOIN assets a ON a.id = r.asset_id
            WHERE r.id = split_part(t.reference, ':', 2)::uuid)
        WHEN 'reservation' THEN (
            SELECT a.city_id FROM reservations h JOIN assets a ON a.id = h.asset_id
            WHERE h.id = split_part(t.reference, ':', 2)::uuid)
        WHEN 'dispute' THEN (
            SELECT a.city_id FROM disputes d
            JOIN rentals r ON r.id = d.rental_id JOIN assets a ON a.id = r.asset_id
            WHERE d.id = split_part(t.reference, ':', 2)::uuid)
      END
    GROUP BY 1
)
SELECT days.day,
       coalesce(rides.rides, 0) AS rides,
       -- A vehicle ridden that day was there, whenever it was registered (vehicles moved
       -- in from another system come with their past rides).
       greatest(coalesce(rides.ridden, 0), (SELECT count(*) FROM assets a
        WHERE a.city_id = :city AND a.kind = ANY(:kinds)
          AND a.created_at < timezone(:tz, (days.day + 1)::timestamp))) AS vehicles,
       coalesce(revenue.minor, 0) AS revenue_minor
FROM days
LEFT JOIN rides ON rides.day = days.day
LEFT JOIN revenue ON revenue.day = days.day
ORDER BY days.day
""")

_UNLOCKS = text("""
WITH asked AS (
    SELECT r.started_at, r.state,
           extract(epoch FROM r.started_at - r.requested_at) AS seconds,
           r.started_at IS NOT NULL AND NOT r.late_unlock AS timed
    FROM rentals r JOIN assets a ON a.id = r.asset_id
    WHERE a.city_id = :city AND r.requested_at >= :since AND r.requested_at < :until
)
SELECT count(*) FILTER (WHERE started_at IS NOT NULL) AS succeeded,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE timed) AS median_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE timed) AS p95_s
FROM asked
""")


class OperationsReadModel:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def rides_by_hour(self, city_id: str, time_zone: str, now: datetime) -> list[HourFigures]:
        zone = ZoneInfo(time_zone)
        rows = self._c.execute(_RIDES_BY_HOUR, {"city": city_id, "tz": time_zone, "now": now})
        return [HourFigures(hour.replace(tzinfo=zone), rides) for hour, rides in rows]

    def days(self, city_id: str, time_zone: str, days: int, now: datetime) -> list[DayFigures]:
        values = {"city": city_id, "tz": time_zone, "now": now, "days": days}
        rows = self._c.execute(_DAYS, {**values, "kinds": VEHICLE_KIND_VALUES})
        return [
            DayFigures(row.day, row.rides, row.vehicles, int(row.revenue_minor)) for row in rows
        ]

    def unlocks(self, city_id: str, since: datetime, until: datetime) -> UnlockFigures:
        row = self._c.execute(_UNLOCKS, {"city": city_id, "since": since, "until": until}).one()
        return UnlockFigures(row.succeeded, row.failed, _ms(row.median_s), _ms(row.p95_s))

    def hotspots(
        self, city_id: str, time_zone: str, days: int, now: datetime, policy: ServicePolicy
    ) -> list[HotspotFigures]:
        heard_since = now - policy.silence
        available = (
            select(func.count())
            .select_from(assets.join(locks, locks.c.id == assets.c.lock_id))
            .where(assets.c.city_id == city_id, assets.c.kind.in_(VEHICLE_KIND_VALUES))
            .where(func.ST_Covers(zones.c.geometry, locks.c.parked_position))
            .where(available_to_riders(now, heard_since, policy.low_battery_pct))
            .scalar_subquery()
        )
        morning = (
            select(cast(func.count(), Float) / days)
            .select_from(rentals.join(assets, assets.c.id == rentals.c.asset_id))
            .where(assets.c.city_id == city_id, rentals.c.trace.isnot(None))
            .where(rentals.c.started_at > now - timedelta(days=days), rentals.c.started_at <= now)
            .where(func.ST_Covers(zones.c.geometry, func.ST_StartPoint(rentals.c.trace)))
            .where(_local_hour(time_zone, rentals.c.started_at).between(*_morning()))
            .scalar_subquery()
        )
        centre = func.ST_PointOnSurface(zones.c.geometry)
        query = (
            select(
                zones.c.name,
                func.ST_X(centre).label("lon"),
                func.ST_Y(centre).label("lat"),
                available.label("available"),
                morning.label("morning"),
            )
            .where(zones.c.city_id == city_id, zones.c.kind == HOTSPOT_KIND)
            .order_by(text("available"), zones.c.name)
        )
        return [
            HotspotFigures(row.name, row.lon, row.lat, row.available, round(row.morning, 2))
            for row in self._c.execute(query)
        ]

    def devices_needing_attention(
        self, city_id: str, now: datetime, policy: ServicePolicy
    ) -> list[Attention]:
        silent = or_(
            ~locks.c.online,
            locks.c.last_seen_at.is_(None),
            locks.c.last_seen_at < now - policy.silence,
        )
        low = locks.c.battery_pct < policy.low_battery_pct
        query = (
            select(
                assets.c.code,
                locks.c.id.label("lock_id"),
                locks.c.online,
                locks.c.battery_pct,
                locks.c.last_seen_at,
                func.ST_X(locks.c.position).label("lon"),
                func.ST_Y(locks.c.position).label("lat"),
                silent.label("silent"),
                low.label("low"),
            )
            .join(locks, locks.c.id == assets.c.lock_id)
            .where(assets.c.city_id == city_id, assets.c.in_service, or_(silent, low))
        )
        found = []
        for row in self._c.execute(query):
            where = {"lon": row.lon, "lat": row.lat}
            if row.silent:
                heard = row.last_seen_at.isoformat() if row.last_seen_at else "never"
                state = "offline" if not row.online else "online but silent"
                detail = f"lock {row.lock_id} {state}; last heard {heard}"
                found.append(
                    Attention(
                        AttentionKind.LOCK_OFFLINE,
                        row.code,
                        detail,
                        row.last_seen_at,
                        city_id,
                        **where,
                    )
                )
            if row.low:
                detail = f"battery {row.battery_pct}% (below {policy.low_battery_pct}%)"
                found.append(
                    Attention(
                        AttentionKind.LOW_BATTERY,
                        row.code,
                        detail,
                        row.last_seen_at,
                        city_id,
                        **where,
                    )
                )
        return found

    def stuck_payments(self, expired_before: datetime, asked_before: datetime) -> list[Attention]:
        orders = select(
            payment_orders.c.id,
            payment_orders.c.gateway,
            payment_orders.c.amount_minor,
            payment_orders.c.currency,
            payment_orders.c.purpose,
            payment_orders.c.expires_at,
        ).where(payment_orders.c.state == "pending", payment_orders.c.expires_at < expired_before)
        found = [
            Attention(
                AttentionKind.STUCK_PAYMENT,
                str(row.id),
                f"{row.purpose} of {row.amount_minor} {row.currency} (minor units) at"
                f" {row.gateway}: still pending after it expired",
                row.expires_at,
                None,
            )
            for row in self._c.execute(orders)
        ]
        waiting = (
            select(
                refunds.c.id,
                refunds.c.amount_minor,
                payment_orders.c.currency,
                payment_orders.c.gateway,
                refunds.c.created_at,
            )
            .join(payment_orders, payment_orders.c.id == refunds.c.order_id)
            .where(and_(refunds.c.state == "processing", refunds.c.created_at < asked_before))
        )
        found += [
            Attention(
                AttentionKind.STUCK_REFUND,
                str(row.id),
                f"refund of {row.amount_minor} {row.currency} (minor units) at"
                f" {row.gateway}: no answer from the gateway",
                row.created_at,
                None,
            )
            for row in self._c.execute(waiting)
        ]
        return found

    def ride_rows(
        self, city_id: str, since: datetime, until: datetime
    ) -> Iterator[tuple[Cell, ...]]:
        query = (
            select(
                rentals.c.id,
                assets.c.code,
                assets.c.kind,
                rentals.c.rider_id,
                rentals.c.state,
                rentals.c.failure_reason,
                rentals.c.requested_at,
                rentals.c.started_at,
                rentals.c.ended_at,
                rentals.c.distance_m,
                rentals.c.fare_minor,
                rentals.c.tariff["currency"].astext,
                rentals.c.parking,
            )
            .join(assets, assets.c.id == rentals.c.asset_id)
            .where(assets.c.city_id == city_id)
            .where(rentals.c.requested_at >= since, rentals.c.requested_at < until)
            .order_by(rentals.c.requested_at, rentals.c.id)
        )
        for row in self._c.execution_options(yield_per=STREAMED_ROWS).execute(query):
            yield (str(row[0]), *row[1:3], str(row[3]), *row[4:])

    def posting_rows(self, since: datetime, until: datetime) -> Iterator[tuple[Cell, ...]]:
        query = (
            select(
                ledger_transactions.c.id,
                ledger_transactions.c.created_at,
                ledger_transactions.c.kind,
                ledger_transactions.c.reference,
                accounts.c.kind,
                accounts.c.currency,
                accounts.c.owner_id,
                postings.c.amount_minor,
            )
            .join(ledger_transactions, ledger_transactions.c.id == postings.c.transaction_id)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(
                ledger_transactions.c.created_at >= since, ledger_transactions.c.created_at < until
            )
            .order_by(ledger_transactions.c.created_at, ledger_transactions.c.id, postings.c.id)
        )
        for row in self._c.execution_options(yield_per=STREAMED_ROWS).execute(query):
            yield (str(row[0]), *row[1:])


def _local_hour(time_zone: str, at: Any) -> Any:
    return extract("hour", func.timezone(time_zone, at))


def _morning() -> tuple[int, int]:
    """The morning hours as an inclusive range of hour numbers (06 to 09)."""
    return MORNING_HOURS[0], MORNING_HOURS[1] - 1


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)
