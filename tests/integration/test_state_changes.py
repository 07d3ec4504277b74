"""Waiting for a rental to change, on PostgreSQL's LISTEN/NOTIFY: a change is never missed,
whether it comes before or after the waiter registers."""

import threading
import time
import uuid

import psycopg
import pytest
from psycopg.pq import Trace
from sqlalchemy import event, text

from rental.adapters.db import UnitOfWork, make_engine
from rental.adapters.locks.protocol import Event, EventType
from rental.adapters.locks.reports import event_reported
from rental.adapters.notifications import StateChangeListener
from rental.app import create_app
from rental.bootstrap import libpq_url, utc_now
from rental.services import lock_events
from tests.conftest import new_lock_id
from tests.helpers import RIDER_PASSWORD, ago, ms, started_rental


@pytest.fixture
def channel():
    return f"test_changes_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def listener(platform, channel):
    listening = StateChangeListener(libpq_url(platform.config.DATABASE_URL), channel)
    with listening.waiting_for("warm-up"):  # starts it: LISTEN is in place from here on
        pass
    return listening


def notify(platform, channel, key):
    with platform.engine.begin() as connection:
        connection.execute(text("SELECT pg_notify(:c, :k)"), {"c": channel, "k": key})


def test_a_waiter_is_woken_by_a_change_after_it_registered(platform, channel, listener):
    with listener.waiting_for("rental-1") as changed:
        notify(platform, channel, "rental-1")
        assert changed.wait(5)


def test_a_change_since_the_given_moment_is_known_to_a_later_waiter(platform, channel, listener):
    since = time.monotonic()
    notify(platform, channel, "rental-2")
    time.sleep(0.5)  # the listener has heard it before anyone waits

    with listener.waiting_for("rental-2", since=since) as changed:
        assert changed.is_set()


def test_a_change_before_the_given_moment_does_not_count(platform, channel, listener):
    notify(platform, channel, "rental-3")
    time.sleep(0.5)
    since = time.monotonic()

    with listener.waiting_for("rental-3", since=since) as changed:
        assert not changed.wait(0.3)


def test_a_listener_that_was_not_listening_at_the_given_moment_says_so(platform, channel):
    since = time.monotonic()
    listening = StateChangeListener(libpq_url(platform.config.DATABASE_URL), channel)

    with listening.waiting_for("rental-4", since=since) as changed:
        assert changed.is_set()  # it may have missed a change: the caller reads


def test_a_unit_of_works_notifications_go_once_it_has_committed_and_never_else(
    platform, channel, listener, tmp_path
):
    """A notification is sent after the unit of work's commit, alone: PostgreSQL serializes
    every commit that notifies, and one with rows to flush would hold the whole cluster's
    notification lock for its flush. It is one statement in autocommit: no BEGIN or COMMIT
    of its own (what the server received is read from libpq's trace of the connection)."""
    trace = tmp_path / "wire.txt"
    # A connection of its own: nothing prepared on it yet, so each statement goes with its
    # text (a Query, or a Parse for one with parameters), never by a prepared name.
    engine = make_engine(platform.config.DATABASE_URL, pool_size=1)
    try:
        with open(trace, "w") as wire, listener.waiting_for("kept") as changed:
            with UnitOfWork(engine) as uow:
                driver = uow.connection.connection.driver_connection
                driver.pgconn.trace(wire.fileno())
                driver.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
                try:
                    uow.notify(channel, "kept")
                    uow.connection.execute(text("SELECT 1"))
                    uow.commit()
                finally:
                    driver.pgconn.untrace()
            assert changed.wait(5)
    finally:
        engine.dispose()
    with listener.waiting_for("rolled back") as changed:
        with platform.uow() as uow:
            uow.notify(channel, "rolled back")
        assert not changed.wait(0.5)
    assert _sent(trace) == ["BEGIN", "SELECT 1", "COMMIT", "pg_notify"]


def _sent(trace):
    """The commands a traced connection sent: simple queries by their text, a statement
    with parameters (Parse) as "pg_notify" (the only one here) or "other"."""
    sent = []
    for line in trace.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or fields[0] != "F":
            continue
        message, rest = fields[2], " ".join(fields[3:]).strip()
        if message == "Query":
            sent.append(rest.strip('"'))
        elif message == "Parse":
            sent.append("pg_notify" if "pg_notify" in rest else "other")
    return sent


def test_a_unit_of_work_that_streamed_rows_still_notifies(platform, channel, listener):
    """Rows read in batches (`yield_per`: a server-side cursor, an option that stays on the
    connection) need a transaction; the notification after the commit goes all the same."""
    with listener.waiting_for("streamed") as changed:
        with platform.uow() as uow:
            streaming = uow.connection.execution_options(yield_per=10)
            rows = streaming.execute(text("SELECT generate_series(1, 25)")).all()
            uow.notify(channel, "streamed")
            uow.commit()
        assert changed.wait(5)
    assert len(rows) == 25


def test_work_after_a_notifying_commit_is_a_transaction_again(platform, channel):
    """The notification's autocommit ends with it: what the unit of work runs after its
    commit is kept only if committed again."""
    table = f"after_{uuid.uuid4().hex[:12]}"
    with platform.engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (n int)"))
    try:
        with platform.uow() as uow:
            uow.notify(channel, "first")
            uow.commit()
            uow.connection.execute(text(f"INSERT INTO {table} VALUES (1)"))
        with platform.engine.connect() as connection:
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
    finally:
        with platform.engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {table}"))


def test_a_notification_that_cannot_go_leaves_what_was_committed(platform, channel, caplog):
    """PostgreSQL refuses a payload of 8,000 bytes or more: the work is committed by then,
    so the commit stands and the loss is logged."""
    table = f"kept_{uuid.uuid4().hex[:12]}"
    with platform.engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (n int)"))
    try:
        with platform.uow() as uow:
            uow.connection.execute(text(f"INSERT INTO {table} VALUES (1)"))
            uow.notify(channel, "x" * 9000)
            uow.commit()
        with platform.engine.connect() as connection:
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1
        assert "1 notifications lost" in caplog.text
    finally:
        with platform.engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {table}"))


def test_a_connection_lost_before_the_notification_leaves_what_was_committed(
    platform, channel, caplog
):
    """The server ends the connection between the commit and the notification, and cannot
    be reached again for a moment: the commit stands, the loss is logged (nothing is raised,
    nothing reconnects), and the next unit of work gets a working connection."""
    table = f"kept_{uuid.uuid4().hex[:12]}"
    with platform.engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (n int)"))
    engine = make_engine(platform.config.DATABASE_URL, pool_size=1)

    def end_the_connection(conn, _cursor, statement, *_args) -> None:
        if "pg_notify" not in statement:
            return
        pid = conn.connection.driver_connection.info.backend_pid
        with platform.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            deadline = time.monotonic() + 10
            while other.execute(gone, {"pid": pid}).scalar():
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.01)
        event.listen(engine, "do_connect", unreachable)

    def unreachable(*_args) -> None:
        raise psycopg.OperationalError("the server cannot be reached")

    event.listen(engine, "before_cursor_execute", end_the_connection)
    try:
        with UnitOfWork(engine) as uow:
            uow.connection.execute(text(f"INSERT INTO {table} VALUES (1)"))
            uow.notify(channel, "lost")
            uow.commit()
        assert "1 notifications lost" in caplog.text
        event.remove(engine, "before_cursor_execute", end_the_connection)
        event.remove(engine, "do_connect", unreachable)
        with UnitOfWork(engine) as uow:
            kept = uow.connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
        assert kept == 1
    finally:
        engine.dispose()
        with platform.engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {table}"))


@pytest.mark.usefixtures("clean_database")
def test_a_watch_whose_notification_was_lost_answers_the_rental_as_it_is(platform, monkeypatch):
    """The unlock commits but its notification never goes (the connection dropped in
    between): the rider's watch still answers `active` when its wait ends."""
    rider, rental, _ = started_rental(platform, new_lock_id())
    app = create_app(platform=platform).test_client()
    signed_in = app.post(
        "/api/v1/auth/token", json={"phone": rider.phone, "password": RIDER_PASSWORD}
    )
    token = {"Authorization": f"Bearer {signed_in.get_json()['access_token']}"}
    answers: list[dict] = []
    watch = threading.Thread(
        target=lambda: answers.append(
            app.get(f"/api/v1/rentals/{rental.id}?wait=2", headers=token).get_json()
        )
    )
    watch.start()
    time.sleep(0.5)  # the watch is waiting
    monkeypatch.setattr(UnitOfWork, "_send_notifications", lambda self: None)
    opened = Event(5, 10, ms(ago(1)), EventType.UNLOCKED, cmd_id=str(rental.unlock_command_id))
    lock_events.handle_event(platform.uow(), event_reported(rental.lock_id, opened, utc_now()))
    watch.join(timeout=10)
    assert answers and answers[0]["state"] == "active"
