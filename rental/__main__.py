"""Command line: `python -m rental db upgrade | create-operator | city ... | mds-client |
check-books | reconcile | broker-accounts upgrade | rotate-lock-keys | new-lock-key | seed-demo`."""

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from rental.config import Config
from rental.domain.errors import RentalError
from rental.entrypoints.cities import add_city_commands

if TYPE_CHECKING:
    from rental.bootstrap import Platform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rental")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    operator = commands.add_parser("create-operator", help="create an operator account")
    operator.add_argument("--phone", required=True)
    operator.add_argument("--password", required=True)
    operator.add_argument("--name", default="Operator")
    add_city_commands(commands)
    client = commands.add_parser("mds-client", help="give a city's MDS reader a token")
    client.add_argument("--city", required=True)
    client.add_argument("--name", required=True, help="who reads: the city's department")
    commands.add_parser("check-books", help="prove the ledger balances; exits 1 if not")
    reconcile = commands.add_parser(
        "reconcile",
        help="hold a gateway's statement of a day against our orders and refunds; lists and "
        "stores what differs (moves no money); exits 1 if anything differs",
    )
    reconcile.add_argument("--gateway", required=True, help="a configured gateway: sandbox, ...")
    reconcile.add_argument(
        "--date", type=date.fromisoformat, help="YYYY-MM-DD on the provider's clock (yesterday)"
    )
    accounts = commands.add_parser(
        "broker-accounts",
        help="bring every provisioned lock's broker account up to date; exits 1 if any is missing",
    )
    accounts.add_argument("action", choices=["upgrade"])
    commands.add_parser(
        "rotate-lock-keys",
        help="seal every lock's signing key again under the first key of "
        "LOCK_KEY_ENCRYPTION_KEYS (then the others can be dropped)",
    )
    commands.add_parser("new-lock-key", help="print a new key for LOCK_KEY_ENCRYPTION_KEYS")
    demo = commands.add_parser("seed-demo", help="the demo city, riders and a provisioned fleet")
    demo.add_argument("--fleet-file", required=True, help="where the simulator's lock secrets go")
    demo.add_argument("--bikes", type=int, default=30)
    args = parser.parse_args(argv)
    if args.command == "new-lock-key":
        from rental.adapters.lock_keys import new_key

        print(new_key())
        return 0

    config = Config.from_environment()
    if not config.DATABASE_URL:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        return _run(args, config)
    except RentalError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, config: Config) -> int:
    from rental.bootstrap import Platform

    if args.command == "db":
        from rental.adapters.migrations import ensure_postgis, upgrade

        ensure_postgis(config.DATABASE_URL)
        upgrade(config.DATABASE_URL)
        print("database is at the current schema")
        return 0
    platform = Platform(config)
    if args.command == "check-books":
        from rental.services.wallet import books

        report = books(platform.uow())
        for total in report.totals:
            print(f"{total.currency} {total.kind:<20} {total.total_minor:>14}")
        if not report.balanced:
            print(
                f"NOT BALANCED: {report.unbalanced}; {report.accounts_out_of_step} account(s) "
                "out of step with their postings",
                file=sys.stderr,
            )
            return 1
        print("books balance: every currency sums to zero, every balance matches its postings")
        return 0
    if args.command == "reconcile":
        return _reconcile(platform, args.gateway, args.date)
    if args.command == "city":
        from rental.entrypoints.cities import run_city_command

        return run_city_command(args, platform)
    if args.command == "broker-accounts":
        return _upgrade_broker_accounts(platform)
    if args.command == "rotate-lock-keys":
        from rental.adapters.lock_key_rotation import reseal_lock_keys

        done = reseal_lock_keys(platform.engine, platform.lock_keys)
        print(
            f"{done.resealed + done.sealed} lock signing key(s) sealed under the first key of"
            f" LOCK_KEY_ENCRYPTION_KEYS ({done.sealed} stored raw until now)"
        )
        return 0
    if args.command == "create-operator":
        from rental.domain.riders import Role, checked_name, checked_password, normalised_phone
        from rental.services.accounts import register
        from rental.services.commands.riders import RegisterUser

        command = RegisterUser(
            phone=normalised_phone(args.phone),
            name=checked_name(args.name),
            password=checked_password(args.password),
            role=Role.OPERATOR,
        )
        user = register(platform.uow(), platform.passwords, command)
        print(f"operator {user.phone} created ({user.id})")
        return 0
    if args.command == "mds-client":
        from rental.api.auth import issue_client_token
        from rental.services.commands.open_data import RegisterMdsClient
        from rental.services.mds import register_client

        # The token is valid while the API signs with this same SECRET_KEY.
        if not config.SECRET_KEY:
            print("SECRET_KEY is not set: the API's own is needed to sign the token")
            return 2
        client_id = register_client(platform.uow(), RegisterMdsClient(args.city, args.name.strip()))
        print(issue_client_token(client_id, config.SECRET_KEY))
        return 0
    from rental.demo import seed_demo

    seed_demo(platform, args.fleet_file, args.bikes)
    return 0


def _reconcile(platform: "Platform", gateway: str, day: date | None) -> int:
    """Prints what differs (also kept for operators: GET /api/v1/ops/reconciliations)."""
    from rental.services.reconciliation import reconcile, statements_of

    statements = statements_of(platform.payment_gateways, gateway)
    wanted = day or (datetime.now(UTC) - timedelta(days=1)).date()
    run = reconcile(platform.reconciliation, statements, wanted, platform.now())
    print(
        f"{gateway} {wanted}: {run.statement_lines} statement line(s), "
        f"{len(run.differences)} difference(s) (run {run.id})"
    )
    for found in run.differences:
        ours = "-" if found.ours_minor is None else f"{found.ours_minor} ({found.ours_state})"
        theirs = "-" if found.theirs_minor is None else str(found.theirs_minor)
        print(
            f"{found.kind.value:<14} {found.subject:<7} {found.reference} trade {found.trade_no} "
            f"{found.currency} ours {ours} theirs {theirs}: {found.note}"
        )
    return 1 if run.differences else 0


def _upgrade_broker_accounts(platform: "Platform") -> int:
    """Accounts provisioned before protocol 1.1 get their client id binding and the
    acknowledgement topic; the lock ids are those the platform knows."""
    from collections import Counter

    from sqlalchemy import select

    from rental.adapters.locks.broker_accounts import Upgrade, managing_accounts
    from rental.adapters.locks.mqtt import BrokerAddress, MqttError
    from rental.adapters.tables import locks

    with platform.engine.connect() as connection:
        lock_ids = list(connection.execute(select(locks.c.id).order_by(locks.c.id)).scalars())
    try:
        platform_account = BrokerAddress.from_settings(
            platform.config.MQTT_URL, platform.config.MQTT_CA_FILE
        )
        with managing_accounts(platform_account) as accounts:
            outcome = accounts.upgrade_lock_accounts(lock_ids)
    except MqttError as error:
        print(f"broker_unavailable: {error}", file=sys.stderr)
        return 1
    missing = [lock_id for lock_id, state in outcome.items() if state is Upgrade.MISSING]
    for lock_id in missing:
        print(f"lock {lock_id} has no broker account: provision it again", file=sys.stderr)
    counts = Counter(outcome.values())
    print(
        f"{len(lock_ids)} lock account(s): {counts[Upgrade.UPGRADED]} upgraded, "
        f"{counts[Upgrade.CURRENT]} already current, {len(missing)} missing"
    )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
