"""No ping before each use of a busy pooled connection (a use case's transaction, a hot
read), yet a connection the server has ended is never used, and one idle across a failover
is not either."""

import os
import socket
import struct
import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from rental.adapters import db
from rental.adapters.db import DatabaseUnavailable, UnitOfWork, make_engine
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


def test_a_use_case_sends_no_ping_before_its_transaction_on_a_busy_connection(
    database_url, monkeypatch
):
    # A round trip for every transaction: PostgreSQL's wake-up and the client's, per use.
    platform = Platform(Config(DATABASE_URL=database_url, SECRET_KEY="test-secret"))
    pings: list[object] = []
    monkeypatch.setattr(platform.engine.dialect, "do_ping", pings.append)
    try:
        for _ in range(3):
            with platform.uow() as uow:
                uow.sessions.is_live(uuid.uuid4(), utc_now())
        assert pings == []
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.05)
        time.sleep(0.1)
        with platform.uow() as uow:
            uow.sessions.is_live(uuid.uuid4(), utc_now())
        assert len(pings) == 1  # idle for longer than that: pinged first
    finally:
        platform.dispose()


class VanishingProxy:
    """A TCP proxy on 127.0.0.1 to PostgreSQL. `vanish()` plays a failover to another host
    at the same address: the old server goes without a word (nothing reaches the client),
    and the client's next packet is answered with a reset. New connections are served."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._generation = 0
        self._pairs: list[tuple[int, socket.socket, socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def vanish(self) -> None:
        self._generation += 1
        for _, _, server in self._pairs:
            server.close()

    def close(self) -> None:
        self._listener.close()
        for _, client, server in self._pairs:
            client.close()
            server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            pair = (self._generation, client, socket.create_connection(self._target))
            self._pairs.append(pair)
            threading.Thread(target=self._upstream, args=pair, daemon=True).start()
            threading.Thread(target=self._downstream, args=pair, daemon=True).start()

    def _upstream(self, generation: int, client: socket.socket, server: socket.socket) -> None:
        while data := _received(client):
            if generation < self._generation:  # the new host knows no such connection
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                return
            server.sendall(data)

    def _downstream(self, generation: int, client: socket.socket, server: socket.socket) -> None:
        while (data := _received(server)) and generation == self._generation:
            client.sendall(data)


def _received(connection: socket.socket) -> bytes:
    try:
        return connection.recv(65536)
    except OSError:
        return b""


def _answer(engine) -> int:
    with UnitOfWork(engine) as uow:
        return int(uow.connection.execute(text("SELECT 1")).scalar_one())


@pytest.fixture
def behind_proxy(database_url):
    """An engine reaching PostgreSQL through a VanishingProxy, and the proxy."""
    url = make_url(database_url)
    proxy = VanishingProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port), 2)
    yield engine, proxy
    engine.dispose()
    proxy.close()


def test_a_connection_idle_across_a_failover_is_replaced_before_it_is_used(
    behind_proxy, monkeypatch
):
    engine, proxy = behind_proxy
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.05)
    assert _answer(engine) == 1  # one connection pooled, idle
    proxy.vanish()
    time.sleep(0.1)
    assert _answer(engine) == 1  # pinged, found gone, replaced unseen


def test_after_a_failover_a_busy_connection_fails_one_transaction_and_the_pool_recovers(
    behind_proxy, monkeypatch
):
    # The price of no ping on a busy connection (see make_engine): the transaction fails
    # as those in flight do, answered 503 (DatabaseUnavailable), and the next one works.
    engine, proxy = behind_proxy
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60.0)  # busy, however slow the machine
    assert _answer(engine) == 1
    proxy.vanish()
    with pytest.raises(DatabaseUnavailable):
        _answer(engine)
    assert _answer(engine) == 1


def test_a_use_case_runs_in_a_process_with_more_than_1024_open_files(database_url):
    # select() refuses a socket numbered 1024 or more; a worker with many clients has them.
    engine = make_engine(database_url, 2)
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        assert _answer(engine) == 1  # connected with a socket beyond 1024
        assert _answer(engine) == 1  # and checked out again from the pool
    finally:
        for descriptor in held:
            os.close(descriptor)
        engine.dispose()


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


def test_a_connection_gives_up_on_a_host_gone_silent_after_30_seconds(database_url):
    # TCP's own limit for unacknowledged data is some 15 minutes of a rider's request.
    engine = make_engine(database_url, 1)
    try:
        with engine.connect() as connection:
            descriptor = connection.connection.dbapi_connection.pgconn.socket
            with socket.socket(fileno=os.dup(descriptor)) as sock:
                limit = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        assert limit == 30_000
    finally:
        engine.dispose()
