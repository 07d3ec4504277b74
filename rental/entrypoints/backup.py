"""Backups that restore: the database and the broker's accounts, taken together into one
timestamped archive with a manifest, and put back together into fresh services.

    python -m rental.entrypoints.backup create --broker-accounts FILE [--to DIR]
    python -m rental.entrypoints.backup restore ARCHIVE --broker-accounts FILE \
        --broker-stop COMMAND --broker-start COMMAND [--replace]

(`make backup` and `make restore ARCHIVE=...` fill these in for the project-local
services; docs/operations.md, "Backups", for a server.) DATABASE_URL names the database.

The two halves belong together: a lock's row (with its signing key) is in PostgreSQL, its
broker account (with its password's hash) in Mosquitto's dynamic-security file. A lock
provisioned between two backups taken apart would come back with one half only and
never connect. So the archive holds both, taken in this order: the database first
(pg_dump reads one snapshot), the broker's file right after. A lock provisioned between
the two comes back with an account but no row, which the next provisioning of its id
takes over; the other order would bring back rows whose locks cannot connect.

The archive (`rental-backup-<UTC time>.tar.gz`) holds `database.dump` (pg_dump's custom
format), `dynamic-security.json` and `manifest.json`: when, the schema's revision, each
file's size and SHA-256, and counts to check a restore by. It holds no secret the
services start with (SECRET_KEY, the broker's admin and platform passwords, the signing
keys' key): those live in the environment file, kept apart (and the broker accounts in
the archive are hashes, which the same passwords must open).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from rental.bootstrap import libpq_url

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "database.dump"
BROKER_ACCOUNTS = "dynamic-security.json"
PARTS = (MANIFEST, DATABASE, BROKER_ACCOUNTS)
# What a restore is checked by: rows that must all come back.
COUNTED_TABLES = ("users", "rentals", "locks", "accounts", "postings")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Broker:
    """The broker's accounts file, and how to stop and start the broker around replacing it
    (shell commands: `systemctl stop mosquitto`, `scripts/services.sh stop-mosquitto`)."""

    accounts: Path
    stop: str = ""
    start: str = ""


# --- create -------------------------------------------------------------------------------


def create(database_url: str, broker: Broker, to: Path, now: datetime) -> Path:
    """The archive of the database and the broker's accounts, in `to`; its path."""
    if not broker.accounts.is_file():
        raise BackupError(f"no broker accounts file at {broker.accounts}")
    to.mkdir(parents=True, exist_ok=True)
    archive = to / f"rental-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"
    with tempfile.TemporaryDirectory(dir=to, prefix=".backup-") as work:
        folder = Path(work)
        _run("pg_dump", "--format=custom", f"--file={folder / DATABASE}", libpq_url(database_url))
        shutil.copyfile(broker.accounts, folder / BROKER_ACCOUNTS)  # after: see the docstring
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "schema_revision": _schema_revision(database_url),
            "database": {**_file_facts(folder / DATABASE), "rows": _row_counts(database_url)},
            "broker_accounts": {
                **_file_facts(folder / BROKER_ACCOUNTS),
                "clients": _broker_clients(folder / BROKER_ACCOUNTS),
            },
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for name in PARTS:
                tar.add(folder / name, arcname=name)
        partial.rename(archive)  # a backup cut short never looks whole
    archive.chmod(0o600)
    return archive


# --- restore ------------------------------------------------------------------------------


def restore(archive: Path, database_url: str, broker: Broker, *, replace: bool) -> dict[str, Any]:
    """The archive's database into DATABASE_URL's (empty, or dropped and made again with
    `replace`), then its accounts into the broker (stopped, file replaced, started); each
    checked against the manifest. The manifest."""
    if not (broker.stop and broker.start):
        raise BackupError("say how to stop and start the broker (--broker-stop, --broker-start)")
    with tempfile.TemporaryDirectory(prefix="rental-restore-") as work:
        folder = Path(work)
        manifest = _unpacked(archive, folder)
        _prepare_database(database_url, replace=replace)
        _run(
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={libpq_url(database_url)}",
            str(folder / DATABASE),
        )
        restored = _row_counts(database_url)
        if restored != manifest["database"]["rows"]:
            raise BackupError(f"rows restored {restored}, backed up {manifest['database']['rows']}")
        _replace_broker_accounts(folder / BROKER_ACCOUNTS, broker)
    return manifest


def _unpacked(archive: Path, folder: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        # The three files and nothing else: no links, no paths out of the folder.
        if sorted(m.name for m in members if m.isfile()) != sorted(PARTS) or len(members) != 3:
            raise BackupError(f"{archive} holds {[m.name for m in members]}, not {PARTS}")
        tar.extractall(folder, members=members)
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{archive} has no readable {MANIFEST}: {error}") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is of format {manifest.get('format')}, not {FORMAT}")
    for name, part in ((DATABASE, "database"), (BROKER_ACCOUNTS, "broker_accounts")):
        if _file_facts(folder / name) != {
            key: manifest[part][key] for key in ("file", "bytes", "sha256")
        }:
            raise BackupError(f"{archive}: {name} is not the file its manifest describes")
    return manifest


def _prepare_database(database_url: str, *, replace: bool) -> None:
    """An empty database to restore into: one with the platform's tables is refused, or
    with `replace` dropped (its connections ended) and made again."""
    if not _has_tables(database_url):
        return
    url = make_url(database_url)
    if not replace:
        raise BackupError(
            f"database {url.database} is not empty: restore into a fresh one, or replace it "
            "(--replace, RESTORE_REPLACE=1 with make restore) once the platform is stopped"
        )
    maintenance = libpq_url(url.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{url.database}"')


def _replace_broker_accounts(restored: Path, broker: Broker) -> None:
    """Mosquitto keeps its accounts in memory and writes them out on every change: the
    file is replaced only while the broker is stopped. The file it had stays beside."""
    _shell(broker.stop, "stopping the broker")
    target = broker.accounts
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore")
        shutil.copy2(target, kept)
        mode, owner, group = target.stat().st_mode, target.stat().st_uid, target.stat().st_gid
    else:
        mode, owner, group = 0o600, -1, -1
    partial = target.with_name(f"{target.name}.restoring")
    shutil.copyfile(restored, partial)
    partial.chmod(mode & 0o777)
    if owner >= 0:
        shutil.chown(partial, owner, group)  # the broker's own user must read it
    partial.replace(target)
    _shell(broker.start, "starting the broker")


# --- facts --------------------------------------------------------------------------------


def _file_facts(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _broker_clients(accounts: Path) -> int:
    try:
        return len(json.loads(accounts.read_text())["clients"])
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{accounts} is no dynamic-security file: {error}") from error


def _row_counts(database_url: str) -> dict[str, int]:
    counts = {}
    with psycopg.connect(libpq_url(database_url)) as connection:
        for table in COUNTED_TABLES:
            row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def _schema_revision(database_url: str) -> str:
    with psycopg.connect(libpq_url(database_url)) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else ""


def _has_tables(database_url: str) -> bool:
    query = "SELECT to_regclass('public.alembic_version') IS NOT NULL"
    with psycopg.connect(libpq_url(database_url)) as connection:
        row = connection.execute(query).fetchone()
    return bool(row and row[0])


def _run(*command: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise BackupError(f"{command[0]} is not installed (postgresql-client)") from error
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def _shell(command: str, doing: str) -> None:
    if not command:
        return
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{doing} ({command}) failed: {done.stderr.strip()[-2000:]}")


# --- the command line ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    database_url = args.database_url
    if not database_url:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    stop, start = getattr(args, "broker_stop", ""), getattr(args, "broker_start", "")
    broker = Broker(Path(args.broker_accounts), stop, start)
    try:
        if args.command == "create":
            archive = create(database_url, broker, Path(args.to), datetime.now(UTC))
            print(archive)
            return 0
        manifest = restore(Path(args.archive), database_url, broker, replace=args.replace)
    except BackupError as error:
        print(f"backup: {error}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{count} {table}" for table, count in manifest["database"]["rows"].items())
    print(f"restored the backup of {manifest['created_at']} (schema {manifest['schema_revision']})")
    print(f"database: {rows}; broker: {manifest['broker_accounts']['clients']} accounts")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rental.entrypoints.backup")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument(
        "--broker-accounts",
        default=os.environ.get("BROKER_ACCOUNTS_FILE", "/var/lib/mosquitto/dynamic-security.json"),
        help="Mosquitto's dynamic-security file (plugin_opt_config_file)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create_command = commands.add_parser("create", help="back up the database and the accounts")
    create_command.add_argument("--to", default="backups", help="the folder of archives")
    restore_command = commands.add_parser("restore", help="restore an archive")
    restore_command.add_argument("archive")
    restore_command.add_argument(
        "--broker-stop", default=os.environ.get("BROKER_STOP_COMMAND", ""), help="shell command"
    )
    restore_command.add_argument(
        "--broker-start", default=os.environ.get("BROKER_START_COMMAND", ""), help="shell command"
    )
    restore_command.add_argument(
        "--replace", action="store_true", help="drop and make again a database that is not empty"
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
