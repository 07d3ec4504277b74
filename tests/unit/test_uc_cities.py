"""Launching, configuring and retiring a city, in memory: each setting checked as the
domain says, the currency fixed, and a retired city closed to new rides and vehicles and
gone from the open data, its rides under way first."""

from datetime import UTC, datetime

import pytest

from rental.domain.cities import checked_city_id, checked_locale, checked_time_zone
from rental.domain.errors import Conflict, InvalidInput, NotFound
from rental.domain.rebalancing import TruckFleet, TruckSpec
from rental.services import assets, cities, open_data, rebalancing_fleets, rebalancing_runs
from rental.services.commands.assets import RegisterVehicle
from rental.services.commands.city import ConfigureCity, LaunchCity
from rental.services.rebalancing_commands import ConfigureFleet
from tests.unit.world import CITY, HOME, START, World, unlocked

BERLIN = LaunchCity("berlin", "Berlin", "Europe/Berlin", "EUR", "de-DE", (13.405, 52.52))


@pytest.fixture
def world() -> World:
    return World()


def test_a_launched_city_has_what_it_was_given_and_runs(world: World) -> None:
    city = cities.launch_city(world.uow(), BERLIN)

    assert (city.id, city.time_zone, city.currency, city.locale) == (
        "berlin",
        "Europe/Berlin",
        "EUR",
        "de-DE",
    )
    assert (city.center_lon, city.center_lat) == (13.405, 52.52)
    assert city.launched_at == START and not city.is_retired
    assert "berlin" in [c.id for c in cities.running_cities(world.uow())]
    assert "berlin" in open_data.city_ids(world.uow())


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"city_id": "Berlin"}, "invalid_city_id"),
        ({"city_id": "b"}, "invalid_city_id"),
        ({"city_id": "-berlin"}, "invalid_city_id"),
        ({"city_id": "berlin/mitte"}, "invalid_city_id"),
        ({"name": "   "}, "invalid_name"),
        ({"time_zone": "CET+1"}, "invalid_time_zone"),
        ({"time_zone": "localtime"}, "invalid_time_zone"),
        ({"currency": "EURO"}, "invalid_currency"),
        ({"currency": "XXX"}, "invalid_currency"),
        ({"locale": "german"}, "invalid_locale"),
        ({"locale": "xx-YY"}, "invalid_locale"),
        ({"center": (13.4, 95.0)}, "invalid_center"),
        ({"center": (float("nan"), 52.5)}, "invalid_center"),
    ],
)
def test_a_wrong_setting_is_refused_by_name(
    world: World, change: dict[str, object], code: str
) -> None:
    fields = {**BERLIN.__dict__, **change}
    with pytest.raises(InvalidInput) as refused:
        cities.launch_city(world.uow(), LaunchCity(**fields))  # type: ignore[arg-type]
    assert refused.value.code == code
    assert cities.all_cities(world.uow()) == cities.all_cities(World().uow())


def test_an_id_is_launched_once(world: World) -> None:
    cities.launch_city(world.uow(), BERLIN)
    with pytest.raises(Conflict) as refused:
        cities.launch_city(world.uow(), BERLIN)
    assert refused.value.code == "city_exists"


def test_configuring_changes_only_what_is_given(world: World) -> None:
    cities.launch_city(world.uow(), BERLIN)

    changed = cities.configure_city(
        world.uow(), ConfigureCity("berlin", time_zone="America/New_York", locale="en-US")
    )

    assert (changed.name, changed.time_zone, changed.locale, changed.currency) == (
        "Berlin",
        "America/New_York",
        "en-US",
        "EUR",
    )
    assert cities.city_settings(world.uow(), "berlin") == changed
    with pytest.raises(InvalidInput):
        cities.configure_city(world.uow(), ConfigureCity("berlin", time_zone="Berlin"))
    with pytest.raises(NotFound):
        cities.configure_city(world.uow(), ConfigureCity("nowhere", name="Nowhere"))


def test_a_city_with_a_ride_under_way_is_not_retired_until_it_ends(world: World) -> None:
    rider, rental = world.riding("L-retire")

    with pytest.raises(Conflict) as refused:
        cities.retire_city(world.uow(), CITY, START)
    assert refused.value.code == "rides_under_way"
    assert not cities.city_settings(world.uow(), CITY).is_retired
    assert rider and rental.lock_id == "L-retire"


def test_a_retired_city_takes_no_ride_no_vehicle_and_leaves_the_open_data(world: World) -> None:
    bike = world.add_bike("L-old")
    rider = world.add_rider()

    retired = cities.retire_city(world.uow(), CITY, START)

    assert retired.retired_at == START
    with pytest.raises(Conflict) as scan:
        world.request(rider, bike)
    assert scan.value.code == "city_retired"
    world.add_lock("L-new")
    with pytest.raises(Conflict) as register:
        assets.register_asset(world.uow(), RegisterVehicle("BK-new", bike.kind, CITY, "L-new"))
    assert register.value.code == "city_retired"
    assert CITY not in open_data.city_ids(world.uow())
    with pytest.raises(NotFound):
        open_data.city(world.uow(), CITY)
    # Retiring again changes nothing; reopening lets riders ride again.
    assert cities.retire_city(world.uow(), CITY, START.replace(year=2027)) == retired
    cities.reopen_city(world.uow(), CITY)
    rental = world.request(rider, bike)
    world.report(unlocked(rental))
    assert world.rental(rental).state.value == "active"


def test_the_domain_checks_take_what_real_cities_use() -> None:
    assert checked_city_id("sh-pudong") == "sh-pudong"
    for zone in ("Asia/Shanghai", "Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC"):
        assert checked_time_zone(zone) == zone
    for tag in ("zh-CN", "zh-Hans-CN", "de-DE", "en", "pt-BR", "ja-JP"):
        assert checked_locale(tag) == tag


def test_a_retired_city_gets_no_nightly_plan(world: World) -> None:
    trucks = TruckFleet(CITY, HOME, (TruckSpec(10, 6.0),), 25.0, 1, 2)
    rebalancing_fleets.configure(world.uow(), ConfigureFleet(trucks))
    one_am_shanghai = datetime(2026, 3, 3, 17, 5, tzinfo=UTC)
    assert rebalancing_runs.due_cities(world.uow(), one_am_shanghai) == [CITY]

    cities.retire_city(world.uow(), CITY, START)

    assert rebalancing_runs.due_cities(world.uow(), one_am_shanghai) == []
