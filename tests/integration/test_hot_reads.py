"""No ping before each use of a pooled connection (a use case's transaction, a hot read),
yet a connection the server has ended is never used."""

import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from rental.bootstrap import Platform, utc_now
from rental.config import Config


def backend_of(platform: Platform, unit: str) -> int:
    with getattr(platform, unit)() as uow:
        return int(uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.parametrize("unit", ["reader", "uow"])
def test_a_pooled_connection_the_server_ended_is_replaced_before_it_is_used(database_url, unit):
    platform = Platform(Config(DATABASE_URL=database_url, SECRET_KEY="test-secret"))
    try:
        ended = backend_of(platform, unit)  # the one connection in its pool, now idle
        with create_engine(database_url, poolclass=NullPool).connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": ended})
        time.sleep(0.1)  # the server's goodbye reaches the socket

        assert backend_of(platform, unit) != ended  # no error: another connection served
    finally:
        platform.dispose()


def test_a_use_case_sends_no_ping_before_its_transaction(database_url, monkeypatch):
    # A round trip for every transaction: PostgreSQL's wake-up and the client's, per use.
    platform = Platform(Config(DATABASE_URL=database_url, SECRET_KEY="test-secret"))
    pings: list[object] = []
    monkeypatch.setattr(platform.engine.dialect, "do_ping", pings.append)
    try:
        for _ in range(3):
            with platform.uow() as uow:
                uow.sessions.is_live(uuid.uuid4(), utc_now())
        assert pings == []
    finally:
        platform.dispose()


def test_a_use_case_statement_is_planned_once_per_connection_which_the_pool_hands_back(
    database_url,
):
    # The pool gives back the connection used last, and a statement is prepared on it at
    # its second run: a process with many connections does not plan the same work on each.
    platform = Platform(Config(DATABASE_URL=database_url, SECRET_KEY="test-secret"))
    prepared = text(  # (written so that it never counts itself)
        "SELECT count(*) FROM pg_prepared_statements"
        " WHERE strpos(statement, 'sessions.' || 'ended_at') > 0"
    )
    try:
        first, second = platform.engine.connect(), platform.engine.connect()
        used_first = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
        used_last = second.execute(text("SELECT pg_backend_pid()")).scalar_one()
        first.close()
        second.close()  # back in the pool last
        assert used_first != used_last
        backends, statements = set(), []
        for _ in range(3):
            with platform.uow() as uow:
                uow.sessions.is_live(uuid.uuid4(), utc_now())
                backends.add(uow.connection.execute(text("SELECT pg_backend_pid()")).scalar())
                statements.append(uow.connection.execute(prepared).scalar_one())
                uow.commit()  # a rollback would make psycopg forget what it prepared
        assert backends == {used_last}
        assert statements == [0, 1, 1]
    finally:
        platform.dispose()


def test_a_read_only_transaction_ends_without_making_psycopg_forget_its_statements(database_url):
    # A rollback makes psycopg drop every statement prepared on the connection; a READ
    # ONLY transaction that ends cleanly is committed instead, to the same effect.
    platform = Platform(Config(DATABASE_URL=database_url, SECRET_KEY="test-secret"))
    prepared = text(  # (written so that it never counts itself)
        "SELECT count(*) FROM pg_prepared_statements"
        " WHERE strpos(statement, 'sessions.' || 'ended_at') > 0"
    )
    try:
        statements = []
        for _ in range(3):
            with platform.lagging_uow() as uow:
                uow.sessions.is_live(uuid.uuid4(), utc_now())
                statements.append(uow.connection.execute(prepared).scalar_one())
        assert statements == [0, 1, 1]
        with pytest.raises(RuntimeError), platform.lagging_uow() as uow:
            uow.sessions.is_live(uuid.uuid4(), utc_now())
            raise RuntimeError("a read that fails is rolled back")
        with platform.lagging_uow() as uow:
            assert uow.connection.execute(prepared).scalar_one() == 0
    finally:
        platform.dispose()
