"""Operators' CSV exports: a city's rides, its fleet, and the books (every posting), as rows
of plain values, read inside one transaction while they are sent.

Cells a spreadsheet would read as a formula (text starting with =, +, -, @, a tab or a
carriage return) are written with a leading apostrophe, as OWASP's "CSV Injection" page
advises: a rider's name or a dispute's words never run in an operator's spreadsheet.
Numbers are written as numbers (a negative amount stays -300).
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from rental.domain.fleet import ServicePolicy
from rental.services.assets import asset_overview
from rental.services.repositories.operations import Cell
from rental.services.unit_of_work import UnitOfWork

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
RIDE_COLUMNS = (
    "rental_id",
    "asset_code",
    "kind",
    "rider_id",
    "state",
    "failure_reason",
    "requested_at",
    "started_at",
    "ended_at",
    "distance_m",
    "fare_minor",
    "currency",
    "parking",
)
FLEET_COLUMNS = (
    "code",
    "kind",
    "lock_id",
    "cabinet_id",
    "slot",
    "in_service",
    "online",
    "battery_pct",
    "last_seen_at",
    "lon",
    "lat",
    "rental_state",
    "reserved",
    "open_damage_reports",
    "unavailable",
)
BOOK_COLUMNS = (
    "transaction_id",
    "booked_at",
    "transaction_kind",
    "reference",
    "account_kind",
    "currency",
    "owner_id",
    "amount_minor",
)


def safe_cell(value: Cell) -> str | int | float:
    """A value as a CSV cell: text that could start a formula is quoted with an apostrophe;
    times in ISO 8601; none as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_lines(columns: Iterable[str], rows: Iterable[Iterable[Cell]]) -> Iterator[str]:
    """The header, then each row, as CSV text one line at a time (RFC 4180 quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[str | int | float]) -> str:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(columns)
    for row in rows:
        yield line([safe_cell(cell) for cell in row])


def ride_rows(uow: UnitOfWork, city_id: str, since: datetime, until: datetime) -> Iterator[str]:
    """The city's rides asked for in [since, until), oldest first, as CSV lines."""
    with uow:
        yield from csv_lines(RIDE_COLUMNS, uow.operations.ride_rows(city_id, since, until))


def fleet_rows(
    uow: UnitOfWork, city_id: str, now: datetime, policy: ServicePolicy
) -> Iterator[str]:
    """The city's assets as the fleet page shows them, with why riders cannot take each."""
    found = asset_overview(uow, city_id, now, policy)
    rows = (
        (
            a.code,
            a.kind.value,
            a.lock_id,
            a.cabinet_id,
            a.slot,
            a.in_service,
            a.online,
            a.battery_pct,
            a.last_seen_at,
            a.lon,
            a.lat,
            a.rental_state and a.rental_state.value,
            a.reserved,
            a.open_damage_reports,
            " ".join(reason.value for reason in a.unavailable),
        )
        for a in found
    )
    yield from csv_lines(FLEET_COLUMNS, rows)


def book_rows(uow: UnitOfWork, since: datetime, until: datetime) -> Iterator[str]:
    """Every posting booked in [since, until), by transaction, as CSV lines."""
    with uow:
        yield from csv_lines(BOOK_COLUMNS, uow.operations.posting_rows(since, until))
