"""The demo city: Shanghai around People's Square, two riders, a fleet of bikes.

Idempotent: running it again keeps what exists and only tops up the fleet. A fresh
database gets a fresh fleet (locks from an older fleet file are decommissioned). It makes
broker accounts itself: it runs with the platform's account (MQTT_URL), not an API's.
"""

import json
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, insert, select

from rental.adapters import tables
from rental.bootstrap import Platform
from rental.domain.cities import City
from rental.domain.errors import Conflict
from rental.domain.fleet import AssetKind
from rental.domain.pricing import Tariff
from rental.domain.rebalancing import TruckFleet, TruckSpec
from rental.domain.riders import Role
from rental.domain.unmet_demand import cell_of, hour_of
from rental.domain.zones import zones_from_geojson
from rental.services import accounts, assets, zones
from rental.services.commands.assets import (
    ProvisionLock,
    RegisterCabinet,
    RegisterItem,
    RegisterVehicle,
)
from rental.services.commands.city import ImportZones
from rental.services.commands.riders import RegisterUser

CITY_ID = "demo"
CENTER = (121.4737, 31.2304)  # (lon, lat)
RIDER = {"phone": "13800000001", "password": "demo-rider-pass", "name": "Demo Rider"}
NEW_RIDER = {"phone": "13800000002", "password": "demo-rider-pass", "name": "New Rider"}
OPERATOR = {"phone": "13900000001", "password": "demo-operator-pass", "name": "Demo Operator"}
WELCOME_CREDIT_MINOR = 2000  # 20.00 CNY
GOOD_CREDIT = 700
# kind: (tariff, deposit, credit score that waives it)
DEMO_PRICES = {
    "bike": (
        Tariff("CNY", 0, 150, 1800, daily_cap_minor=2000, out_of_zone_fee_minor=500),
        29900,
        650,
    ),
    "ebike": (Tariff("CNY", 100, 300, 1800, out_of_zone_fee_minor=1000), 29900, 700),
    "power_bank": (
        Tariff(
            "CNY",
            0,
            200,
            3600,
            free_seconds=300,
            daily_cap_minor=2000,
            replacement_price_minor=9900,
        ),
        9900,
        600,
    ),
    "umbrella": (
        Tariff("CNY", 0, 100, 3600, daily_cap_minor=500, replacement_price_minor=4900),
        4900,
        600,
    ),
    "basketball": (
        Tariff("CNY", 0, 300, 3600, daily_cap_minor=1500, replacement_price_minor=9900),
        9900,
        600,
    ),
}


def seed_demo(platform: Platform, fleet_file: str, bikes: int) -> None:
    path = Path(fleet_file)
    locks = json.loads(path.read_text()) if path.exists() else []
    if set_up_city(platform):
        for stale in locks:  # a fleet file from an earlier database
            platform.accounts().delete_lock_account(stale["lock_id"])
        locks = []
    rider_id = _account(platform, RIDER, Role.RIDER)
    _account(platform, NEW_RIDER, Role.RIDER)
    _account(platform, OPERATOR, Role.OPERATOR)
    with platform.engine.begin() as connection:  # a rider with a good record rides deposit-free
        connection.exec_driver_sql(
            "UPDATE users SET credit_score = %(score)s WHERE id = %(id)s",
            {"score": GOOD_CREDIT, "id": rider_id},
        )
    accounts.grant_promotion(
        platform.uow(), rider_id, "CNY", WELCOME_CREDIT_MINOR, f"welcome:{rider_id}"
    )

    spread = random.Random(42)
    # The demo city's own bikes: a city launched since (`city demo-bikes`) keeps its bikes
    # in the same file, under locks named after it.
    bike_locks = [e for e in locks if "slots" not in e and e["lock_id"].startswith("DEMO-L")]
    for number in range(len(bike_locks) + 1, bikes + 1):
        lock_id = f"DEMO-L{number:04d}"
        platform.accounts().delete_lock_account(lock_id)  # left over from an interrupted seed
        credentials = assets.provision_lock(
            platform.uow(), platform.accounts(), ProvisionLock(lock_id)
        )
        assets.register_asset(
            platform.uow(),
            RegisterVehicle(f"BK{number:05d}", AssetKind.BIKE, CITY_ID, credentials.lock_id),
        )
        locks.append(
            {
                "lock_id": credentials.lock_id,
                "mqtt_password": credentials.mqtt_password,
                "signing_key": credentials.signing_key_hex,
                "lon": round(CENTER[0] + spread.uniform(-0.01, 0.01), 6),
                "lat": round(CENTER[1] + spread.uniform(-0.01, 0.01), 6),
                "asset_code": f"BK{number:05d}",
            }
        )
    if not any("slots" in entry for entry in locks):
        locks.extend(_cabinets(platform))
    seed_trip_history(platform, platform.now())
    seed_unmet_demand(platform, platform.now())
    for entry in locks:  # older fleet files too: the locks move to the broker of now
        entry.update(_broker_entry(platform))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(locks, indent=1))
    path.chmod(0o600)


def add_demo_bikes(platform: Platform, fleet_file: str, city_id: str, count: int) -> list[str]:
    """`count` more bikes in a launched city, within about 1 km of its centre, each with a
    provisioned lock the simulator plays: their secrets are added to `fleet_file` (the
    simulator reads it when it starts). Returns the bikes' codes. Raises NotFound
    `city_not_found`, Conflict `city_retired`."""
    from rental.services.cities import city_settings

    city = city_settings(platform.uow(), city_id)
    path = Path(fleet_file)
    locks = json.loads(path.read_text()) if path.exists() else []
    prefix = city_id.upper().replace("-", "")[:8]
    taken = {entry["lock_id"] for entry in locks}
    spread, codes = random.Random(), list[str]()
    number = 0
    while len(codes) < count:
        number += 1
        lock_id = f"{prefix}-L{number:04d}"
        if lock_id in taken:
            continue
        platform.accounts().delete_lock_account(lock_id)  # left over from an interrupted run
        credentials = assets.provision_lock(
            platform.uow(), platform.accounts(), ProvisionLock(lock_id)
        )
        code = f"{prefix}{number:05d}"
        assets.register_asset(
            platform.uow(), RegisterVehicle(code, AssetKind.BIKE, city.id, credentials.lock_id)
        )
        locks.append(
            {
                "lock_id": credentials.lock_id,
                "mqtt_password": credentials.mqtt_password,
                "signing_key": credentials.signing_key_hex,
                "lon": round(city.center_lon + spread.uniform(-0.01, 0.01), 6),
                "lat": round(city.center_lat + spread.uniform(-0.01, 0.01), 6),
                "asset_code": code,
                **_broker_entry(platform),
            }
        )
        codes.append(code)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(locks, indent=1))
    path.chmod(0o600)
    return codes


def _broker_entry(platform: Platform) -> dict[str, str | None]:
    """What provisioning hands a lock besides its secrets (docs/lock-protocol.md §2): the
    broker's address and CA, which the simulator connects with, as firmware would."""
    broker = platform.lock_broker
    return {} if broker is None else {"broker": broker.url, "ca": broker.ca_pem}


# (device id, kind, slots, items docked, where): stations at metro exits and malls.
DEMO_CABINETS = [
    ("DEMO-C01", "power_bank", 8, 6, (121.4712, 31.2331)),
    ("DEMO-C02", "power_bank", 8, 2, (121.4768, 31.2268)),
    ("DEMO-C03", "umbrella", 6, 4, (121.4745, 31.2352)),
    ("DEMO-C04", "basketball", 4, 3, (121.4688, 31.2290)),
]
ITEM_PREFIX = {"power_bank": "PB", "umbrella": "UM", "basketball": "BB"}


def _cabinets(platform: Platform) -> list[dict[str, object]]:
    """Cabinets with items in their first slots; their entries carry the slots' contents."""
    entries: list[dict[str, object]] = []
    numbers = {kind: 0 for kind in ITEM_PREFIX}
    for lock_id, kind, slot_count, docked, (lon, lat) in DEMO_CABINETS:
        platform.accounts().delete_lock_account(lock_id)
        credentials = assets.provision_lock(
            platform.uow(), platform.accounts(), ProvisionLock(lock_id)
        )
        assets.register_cabinet(
            platform.uow(), RegisterCabinet(lock_id, CITY_ID, AssetKind(kind), slot_count)
        )
        contents: dict[str, str | None] = {str(n): None for n in range(1, slot_count + 1)}
        for slot in range(1, docked + 1):
            numbers[kind] += 1
            code = f"{ITEM_PREFIX[kind]}{numbers[kind]:05d}"
            item = RegisterItem(code, AssetKind(kind), CITY_ID, lock_id, slot)
            assets.register_asset(platform.uow(), item)
            contents[str(slot)] = code
        entries.append(
            {
                "lock_id": lock_id,
                "mqtt_password": credentials.mqtt_password,
                "signing_key": credentials.signing_key_hex,
                "lon": lon,
                "lat": lat,
                "slots": contents,
            }
        )
    return entries


def _box(lon: float, lat: float, half_width: float, half_height: float) -> dict[str, object]:
    west, east = lon - half_width, lon + half_width
    south, north = lat - half_height, lat + half_height
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _zone(kind: str, name: str, geometry: dict[str, object], **extra: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"kind": kind, "name": name, **extra},
    }


# Around People's Square: bikes are seeded within about 1 km of the centre.
DEMO_ZONES = {
    "type": "FeatureCollection",
    "features": [
        _zone("service_area", "Central Shanghai", _box(*CENTER, 0.03, 0.025)),
        _zone("no_parking", "People's Square plaza", _box(121.4737, 31.2317, 0.0015, 0.0012)),
        _zone(
            "slow",
            "Nanjing Road pedestrian street",
            _box(121.4790, 31.2370, 0.0040, 0.0008),
            max_speed_kph=10,
        ),
        _zone("parking", "Metro line 1 exit 2", _box(121.4710, 31.2330, 0.0004, 0.0003)),
        _zone("parking", "Huangpi Road hotspot", _box(121.4770, 31.2270, 0.0004, 0.0003)),
        _zone("no_ride", "Renmin Park", _box(121.4690, 31.2340, 0.0012, 0.0010)),
    ],
}


def set_up_city(platform: Platform) -> bool:
    """The city, its zones and its trucks; True when the city is new."""
    created = _create_city(platform)
    _draw_zones(platform)
    _set_up_trucks(platform)
    return created


def _create_city(platform: Platform) -> bool:
    with platform.uow() as uow:
        if uow.cities.currency_of(CITY_ID) is not None:
            return False
        uow.cities.add(
            City(CITY_ID, "Demo City (Shanghai)", "Asia/Shanghai", "CNY", "zh-CN", *CENTER)
        )
        for kind, (tariff, deposit, waiver) in DEMO_PRICES.items():
            uow.pricing_plans.publish(CITY_ID, kind, tariff, deposit, waiver)
        uow.commit()
    return True


def _draw_zones(platform: Platform) -> None:
    """Once per city: an operator's own edits are kept on later runs."""
    if not zones.zones_of(platform.uow(), CITY_ID)["features"]:
        command = ImportZones(CITY_ID, zones_from_geojson(DEMO_ZONES))
        zones.import_zones(platform.uow(), command)


def _set_up_trucks(platform: Platform) -> None:
    """Three trucks for the nightly rebalancing at 02:00, once per city."""
    with platform.uow() as uow:
        if uow.rebalancing.fleet(CITY_ID) is None:
            uow.rebalancing.save_fleet(
                TruckFleet(
                    CITY_ID,
                    (121.4650, 31.2250),
                    trucks=(TruckSpec(capacity=20, shift_hours=6),) * 3,
                    speed_kph=25,
                    nightly_hour=2,
                    time_limit_seconds=30,
                    depot_stock=0,
                )
            )
            uow.commit()


# Where weekday mornings start (trips 06:00-10:00), for the rebalancing forecast: the two
# parking hotspots and an office corner that is no hotspot (it becomes a busy corner).
MORNING_STARTS = [
    ((121.4710, 31.2330), 6),  # Metro line 1 exit 2
    ((121.4770, 31.2270), 4),  # Huangpi Road hotspot
    ((121.4660, 31.2220), 4),  # office towers, south-west
]
HISTORY = {"phone": "13800000099", "password": "demo-history-pass", "name": "Past commuters"}
HISTORY_WEEKS = 6
SQUARE = f"{CENTER[0]} {CENTER[1]}"  # where they all rode to
RIDE_LENGTH = timedelta(minutes=12)
# The past rides' fixes are numbered under a boot no lock reaches (a lock counts one boot
# per power-up), so that they never take the place of a real fix's (lock, boot, seq).
HISTORY_BOOT = 2**53 - 1
# A past ride: its rental's id, the bike, when it began and where.
PastRide = tuple[uuid.UUID, Row[Any, Any], datetime, tuple[float, float]]


def seed_trip_history(platform: Platform, now: datetime) -> None:
    """Six weeks of past morning rides, once, so that the nightly rebalancing has demand to
    forecast. They are free rides of one demo account, so they move no money."""
    rider_id = _account(platform, HISTORY, Role.RIDER)
    with platform.engine.begin() as connection:
        if connection.execute(
            select(tables.rentals.c.id).where(tables.rentals.c.rider_id == rider_id)
        ).first():
            return
        bikes = connection.execute(
            select(tables.assets.c.id, tables.assets.c.lock_id)
            .where(tables.assets.c.city_id == CITY_ID, tables.assets.c.kind == "bike")
            .order_by(tables.assets.c.code)
        ).all()
        if not bikes:
            return
        rides = _past_mornings(now, random.Random(7))
        past = _on_free_bikes(rides, bikes)
        connection.execute(
            insert(tables.rentals),
            [
                {
                    "id": rental_id,
                    "rider_id": rider_id,
                    "asset_id": bike.id,
                    "lock_id": bike.lock_id,
                    "idempotency_key": f"demo-history-{n}",
                    "state": "ended",
                    "tariff": {"currency": "CNY"},
                    # The scan came a second or so before the latch opened, as live ones do.
                    "requested_at": began - timedelta(milliseconds=800 + n * 37 % 900),
                    "started_at": began,
                    "ended_at": began + RIDE_LENGTH,
                    "fare_minor": 0,
                    "distance_m": 1800.0,
                    "trace": f"SRID=4326;LINESTRING({start[0]} {start[1]}, {SQUARE})",
                    "end_position": f"SRID=4326;POINT({SQUARE})",
                    "parking": "ok",
                }
                for n, (rental_id, bike, began, start) in enumerate(past)
            ],
        )
        _seed_trip_records(connection, past)


# Where riders of the demo looked for a bike and found none, on weekday mornings (06:00-10:00)
# of the past week: a housing estate north-east of the bikes, and the far end of the
# office towers. The operators' demand map shows them (docs/rebalancing.md).
UNMET_SEARCHES = [
    ((121.4880, 31.2420), 5),  # housing estate, north-east
    ((121.4600, 31.2190), 2),  # office towers, far end
]


def seed_unmet_demand(platform: Platform, now: datetime) -> None:
    """A week of searches that found no bike, counted as the nearby search counts them
    (per cell and hour, no rider), once."""
    zone = ZoneInfo("Asia/Shanghai")
    with platform.engine.begin() as connection:
        seeded = select(tables.unmet_searches.c.city_id).where(
            tables.unmet_searches.c.city_id == CITY_ID
        )
        if connection.execute(seeded.limit(1)).first():
            return
        today = now.astimezone(zone).date()
        rows = []
        for back in range(1, 8):
            day = today - timedelta(days=back)
            if day.weekday() >= 5:
                continue
            for hour in range(6, 10):
                at = hour_of(datetime.combine(day, time(hour), zone))
                for (lon, lat), per_hour in UNMET_SEARCHES:
                    x, y = cell_of(lon, lat)
                    rows.append(
                        {
                            "city_id": CITY_ID,
                            "hour": at,
                            "cell_x": x,
                            "cell_y": y,
                            "searches": per_hour,
                        }
                    )
        connection.execute(insert(tables.unmet_searches), rows)


def _on_free_bikes(
    rides: list[tuple[datetime, tuple[float, float]]], bikes: Sequence[Row[Any, Any]]
) -> list[PastRide]:
    """Each ride on a bike not already out on another ride then (a ride no bike was free
    for did not happen), with the id its rental gets."""
    free_at = [datetime.min.replace(tzinfo=UTC)] * len(bikes)
    past = []
    for began, start in sorted(rides):
        first = min(range(len(bikes)), key=free_at.__getitem__)
        # Strictly after: a ride starting the minute the last one ended would share its
        # lock's fix, which belongs to one trip only.
        if free_at[first] < began:
            free_at[first] = began + RIDE_LENGTH
            past.append((uuid.uuid4(), bikes[first], began, start))
    return past


def _seed_trip_records(connection: Connection, past: list[PastRide]) -> None:
    """What a city's MDS feed shows of each past ride, as a live one leaves it: the trip's
    start and end in the vehicle's history, and the lock's fixes along the way."""
    events, fixes = [], []
    for n, (rental_id, bike, began, start) in enumerate(past):
        ended = began + RIDE_LENGTH
        begin, finish = f"SRID=4326;POINT({start[0]} {start[1]})", f"SRID=4326;POINT({SQUARE})"
        for kind, at, where in (("trip_start", began, begin), ("trip_end", ended, finish)):
            events.append(
                {
                    "id": uuid.uuid4(),
                    "asset_id": bike.id,
                    "city_id": CITY_ID,
                    "kind": kind,
                    "at": at,
                    "recorded_at": at,
                    "position": where,
                    "rental_id": rental_id,
                }
            )
        midway = f"SRID=4326;POINT({(start[0] + CENTER[0]) / 2} {(start[1] + CENTER[1]) / 2})"
        for i, (at, where, locked) in enumerate(
            ((began, begin, False), (began + RIDE_LENGTH / 2, midway, False), (ended, finish, True))
        ):
            fixes.append(
                {
                    "lock_id": bike.lock_id,
                    "boot": HISTORY_BOOT,
                    "seq": 3 * n + i,
                    "recorded_at": at,
                    "position": where,
                    "accuracy_m": 10.0,
                    "locked": locked,
                }
            )
    connection.execute(insert(tables.vehicle_events), events)
    connection.execute(insert(tables.lock_positions), fixes)


def _past_mornings(
    now: datetime, spread: random.Random
) -> list[tuple[datetime, tuple[float, float]]]:
    """(start time, place) of each past morning ride: weekdays in full, weekends half."""
    zone = ZoneInfo("Asia/Shanghai")
    today = now.astimezone(zone).date()
    rides = []
    for back in range(1, 7 * HISTORY_WEEKS + 1):
        day = today - timedelta(days=back)
        for place, per_morning in MORNING_STARTS:
            count = per_morning if day.weekday() < 5 else per_morning // 2
            for _ in range(count + spread.randint(-1, 1)):
                minute = spread.randint(6 * 60, 10 * 60 - 1)
                began = datetime.combine(day, time(minute // 60, minute % 60), zone)
                rides.append((began.astimezone(UTC), place))
    return rides


def _account(platform: Platform, who: dict[str, str], role: Role) -> uuid.UUID:
    try:
        command = RegisterUser(who["phone"], who["password"], who["name"], role)
        return accounts.register(platform.uow(), platform.passwords, command).id
    except Conflict:
        with platform.uow() as uow:
            user = uow.users.by_phone(who["phone"])
        assert user is not None
        return user.id
