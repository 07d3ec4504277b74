"""A city of many vehicles, seeded in SQL and kept between benchmark runs.

Bikes with every tenth an e-bike and every 33rd out of service, batteries from 5 to 100 %,
spread at random (a fixed seed) over a rectangle. A city already holding the asked
number of vehicles is left as it is; otherwise only that city is replaced.
"""

import time
from dataclasses import dataclass

from sqlalchemy import text

from rental.bootstrap import Platform
from rental.domain.cities import City
from rental.domain.pricing import Tariff

SEED = """
SELECT setseed(0.42);
INSERT INTO locks (id, signing_key, online, boot, locked, battery_pct, position, last_seen_at)
SELECT :prefix || '-' || g, '\\x00'::bytea, true, 1, true, 5 + (random() * 95)::int,
       ST_SetSRID(ST_MakePoint(:west + random() * :width, :south + random() * :height), 4326),
       now()
FROM generate_series(1, :count) AS g;
INSERT INTO assets (id, code, kind, city_id, lock_id, in_service)
SELECT gen_random_uuid(), :prefix || g, CASE WHEN g % 10 = 0 THEN 'ebike' ELSE 'bike' END,
       :city, :prefix || '-' || g, g % 33 <> 0
FROM generate_series(1, :count) AS g;
ANALYZE locks;
ANALYZE assets;
"""
FORGET = """
DELETE FROM assets WHERE city_id = :city;
DELETE FROM locks WHERE id LIKE :prefix || '-%';
DELETE FROM pricing_plans WHERE city_id = :city;
DELETE FROM zones WHERE city_id = :city;
DELETE FROM cities WHERE id = :city
"""


@dataclass(frozen=True)
class SeededCity:
    city_id: str
    prefix: str  # of lock ids and asset codes: tells this city's rows from others'
    west: float
    south: float
    width: float  # degrees of longitude
    height: float  # degrees of latitude


def seed_city(platform: Platform, city: SeededCity, count: int) -> None:
    values = {
        "city": city.city_id,
        "prefix": city.prefix,
        "west": city.west,
        "south": city.south,
        "width": city.width,
        "height": city.height,
        "count": count,
    }
    with platform.engine.begin() as connection:
        present = connection.execute(
            text("SELECT count(*) FROM assets WHERE city_id = :city"), values
        ).scalar()
        if present == count:
            return
        print(f"seeding {count:,} vehicles in {city.city_id} (once) ...", flush=True)
        for statement in FORGET.split(";"):
            connection.execute(text(statement), values)
    with platform.uow() as uow:
        center = (city.west + city.width / 2, city.south + city.height / 2)
        name = city.city_id.title()
        uow.cities.add(City(city.city_id, name, "Asia/Shanghai", "CNY", "en", *center))
        for kind in ("bike", "ebike"):
            uow.pricing_plans.publish(city.city_id, kind, Tariff("CNY", 0, 150, 1800))
        uow.commit()
    started = time.monotonic()
    with platform.engine.begin() as connection:
        for statement in filter(str.strip, SEED.split(";")):
            connection.execute(text(statement), values)
    print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)


def allow_silence_since_seeding(platform: Platform) -> None:
    """The seeded locks were heard from when seeded; rather than rewrite a million rows
    per run (which would bloat the table and its index), the silence allowed reaches back
    to that moment, for the use case and the app alike. The query is the same."""
    with platform.engine.connect() as connection:
        seeded_at = connection.execute(text("SELECT min(last_seen_at) FROM locks")).scalar_one()
    platform.config.LOCK_SILENCE_SECONDS += int(time.time() - seeded_at.timestamp()) + 1
