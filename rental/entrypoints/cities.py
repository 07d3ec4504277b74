"""`python -m rental city ...`: launch, configure and retire a city from the command line,
with the same use cases and the same checks of its files as the API
(docs/operations.md, "Launching a city").

    city launch --id berlin --name Berlin --time-zone Europe/Berlin --currency EUR \\
        --locale de-DE --center 13.405,52.52
    city list
    city configure --id berlin [--name N] [--time-zone Z] [--locale L] [--center LON,LAT]
    city zones --id berlin --file zones.geojson        (a FeatureCollection; replaces all)
    city pricing-plan --id berlin --kind bike --file plan.json
    city fleet --id berlin --file fleet.json           (trucks, depot, nightly hour)
    city retire --id berlin | city reopen --id berlin
    city demo-bikes --id berlin --bikes 10 --fleet-file var/demo/fleet.json   (the demo only)
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rental.bootstrap import Platform
from rental.domain.cities import City
from rental.domain.fleet import AssetKind
from rental.services import cities, pricing, rebalancing_fleets, zones
from rental.services.commands.city import ConfigureCity, LaunchCity
from rental.services.rebalancing_commands import ConfigureFleet


def add_city_commands(commands: Any) -> None:
    """The `city` command and its actions, on the CLI's subparsers."""
    city = commands.add_parser("city", help="launch, configure and retire a city")
    actions = city.add_subparsers(dest="action", required=True)
    launch = actions.add_parser("launch", help="a new city, running at once")
    launch.add_argument("--id", required=True, help="berlin: lower-case, in every URL")
    launch.add_argument("--name", required=True)
    launch.add_argument("--time-zone", required=True, help="IANA, Europe/Berlin")
    launch.add_argument("--currency", required=True, help="ISO 4217, EUR; never changes")
    launch.add_argument("--locale", required=True, help="BCP 47, de-DE")
    launch.add_argument("--center", required=True, type=_lon_lat, help="LON,LAT (WGS 84)")
    actions.add_parser("list", help="every city, retired ones too")
    configure = actions.add_parser("configure", help="change a city's settings")
    configure.add_argument("--id", required=True)
    configure.add_argument("--name")
    configure.add_argument("--time-zone")
    configure.add_argument("--locale")
    configure.add_argument("--center", type=_lon_lat, help="LON,LAT (WGS 84)")
    for name, what in (
        ("zones", "replace the city's zones with a GeoJSON FeatureCollection"),
        ("fleet", "set the city's trucks, depot and nightly hour from JSON"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument("--id", required=True)
        action.add_argument("--file", required=True, type=Path)
    plan = actions.add_parser("pricing-plan", help="publish a kind's pricing plan from JSON")
    plan.add_argument("--id", required=True)
    plan.add_argument("--kind", required=True, choices=[kind.value for kind in AssetKind])
    plan.add_argument("--file", required=True, type=Path)
    bikes = actions.add_parser(
        "demo-bikes", help="the demo only: bikes with simulated locks around the city's centre"
    )
    bikes.add_argument("--id", required=True)
    bikes.add_argument("--bikes", type=int, default=10)
    bikes.add_argument("--fleet-file", required=True, help="the simulator's, var/demo/fleet.json")
    for name, what in (("retire", "no new rides; leaves GBFS"), ("reopen", "undo a retirement")):
        actions.add_parser(name, help=what).add_argument("--id", required=True)


def run_city_command(args: argparse.Namespace, platform: Platform) -> int:
    """Runs one `city` action; prints what it did. Returns the exit status."""
    try:
        return _run(args, platform)
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "file"
            print(f"{args.file}: {where}: {problem['msg']}", file=sys.stderr)
        return 1
    except (OSError, json.JSONDecodeError) as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, platform: Platform) -> int:
    from rental.api.pricing import Prices
    from rental.api.rebalancing import FleetRequest
    from rental.api.zones import ZoneMap

    uow = platform.uow
    match args.action:
        case "launch":
            command = LaunchCity(
                args.id, args.name, args.time_zone, args.currency, args.locale, args.center
            )
            _show(cities.launch_city(uow(), command))
        case "list":
            for city in cities.all_cities(uow()):
                _show(city)
        case "configure":
            change = ConfigureCity(args.id, args.name, args.time_zone, args.locale, args.center)
            _show(cities.configure_city(uow(), change))
        case "zones":
            zone_map = ZoneMap.model_validate(_json(args.file))
            count = zones.import_zones(uow(), zone_map.command(args.id))
            print(f"{args.id}: {count} zone(s)")
        case "pricing-plan":
            prices = Prices.model_validate(_json(args.file))
            plan = pricing.publish_pricing_plan(
                uow(), prices.command(args.id, AssetKind(args.kind))
            )
            print(f"{args.id}: {args.kind} priced in {plan.tariff.currency} (plan {plan.id})")
        case "fleet":
            fleet = FleetRequest.model_validate(_json(args.file)).fleet(args.id)
            rebalancing_fleets.configure(uow(), ConfigureFleet(fleet))
            print(f"{args.id}: {len(fleet.trucks)} truck(s), nightly at {fleet.nightly_hour}:00")
        case "demo-bikes":
            from rental.demo import add_demo_bikes

            codes = add_demo_bikes(platform, args.fleet_file, args.id, args.bikes)
            print(f"{args.id}: bikes {', '.join(codes)} (restart the simulator to ride them)")
        case "retire":
            _show(cities.retire_city(uow(), args.id, platform.now()))
        case "reopen":
            _show(cities.reopen_city(uow(), args.id))
    return 0


def _show(city: City) -> None:
    state = f"retired {city.retired_at:%Y-%m-%d}" if city.retired_at else "running"
    print(
        f"{city.id}\t{city.name}\t{city.time_zone}\t{city.currency}\t{city.locale}\t"
        f"{city.center_lon},{city.center_lat}\t{state}"
    )


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _lon_lat(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            "LON,LAT in WGS 84 degrees, such as 13.405,52.52"
        ) from None
    return lon, lat
