"""Engine and unit of work: one database transaction per use case."""

import functools
import logging
import select
import time
from types import TracebackType
from typing import Any, Self

import psycopg
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    InvalidatePoolError,
    OperationalError,
)

from rental.adapters.alerts import AlertRepository
from rental.adapters.credit import CreditRepository
from rental.adapters.damage_photos import DamagePhotoRepository
from rental.adapters.damage_reports import DamageReportRepository
from rental.adapters.dead_letters import DeadLetterRepository
from rental.adapters.disputes import DisputeRepository
from rental.adapters.funnel import FunnelMarks
from rental.adapters.idempotency import IdempotencyKeys
from rental.adapters.ledger import LedgerRepository
from rental.adapters.lock_keys import LockKeyRing
from rental.adapters.lock_log import LockLog
from rental.adapters.mds import MdsClients, VehicleHistory
from rental.adapters.open_data import OpenDataRepository
from rental.adapters.operations import OperationsReadModel
from rental.adapters.payments import PaymentRepository
from rental.adapters.phone_codes import PhoneCodeRepository
from rental.adapters.pricing_plans import PricingPlanRepository
from rental.adapters.rebalancing import RebalancingRepository
from rental.adapters.rentals import RentalRepository
from rental.adapters.repositories import (
    AssetRepository,
    CabinetRepository,
    CityRepository,
    LockRepository,
    UserRepository,
)
from rental.adapters.reservations import ReservationRepository
from rental.adapters.sessions import SessionRepository
from rental.adapters.shared_feeds import SharedFeeds
from rental.adapters.unmet_demand import UnmetDemand
from rental.adapters.vehicles import VehicleSearch
from rental.adapters.zones import ZoneRepository
from rental.domain.errors import Unavailable

# The database is down, restarting, or dropped the connection; a deadlock or a
# serialization failure is transient too. Retrying the whole use case is safe.
_TRANSIENT = (OperationalError, InterfaceError)

log = logging.getLogger(__name__)


# Sent after the transaction commits, as one statement in autocommit (a transaction of its
# own, with no BEGIN or COMMIT to send): PostgreSQL serializes the commits of all
# transactions that NOTIFY, holding one lock of the whole cluster from before a commit's
# WAL flush to its end. A notification alone writes only its commit
# record and does not wait for a flush, so its commit holds that lock for moments; an
# event's transaction (its rows, its flush) holds it for none. In an unlock burst, commits
# queued 20 to 60 ms for it (docs/performance.md).
_NOTIFY = text(
    "SELECT pg_notify(n.c, n.p) FROM unnest(CAST(:c AS text[]), CAST(:p AS text[])) AS n(c, p)"
)
# A plain cursor for it, whatever the unit of work streamed before (`yield_per` stays on its
# connection): a server-side cursor needs a transaction, which autocommit does not have.
_PLAIN: dict[str, Any] = {"yield_per": None, "stream_results": False}

# psycopg prepares a statement once it ran this many times on a connection: one-off
# statements (an operator's report) are not prepared, a use case's are from their second run.
PREPARE_THRESHOLD = 1
# A pooled connection idle for longer is pinged before it is used (see `make_engine`).
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "idle_since"  # in a pooled connection's `info`: time.monotonic() at checkin
# libpq's TCP keepalives (seconds): probe a connection idle for a minute, give it up after
# three probes unanswered 10 s apart. And (milliseconds) give up a connection whose data the
# server's host has not acknowledged for 30 s: a host gone silent mid-statement (or
# mid-ping) otherwise holds the request for TCP's own limit, some 15 minutes.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 60,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


class DatabaseUnavailable(Unavailable):
    """The database did not answer or gave up on the transaction: try again later."""

    code = "database_unavailable"


def make_engine(url: str, pool_size: int = 10, *, generic_plans: bool = False) -> Engine:
    """`generic_plans`: prepared statements are planned once per connection, not per call.
    Worth it for hot searches whose planning (PostGIS) costs more than their execution.

    A pooled connection is checked before each use (`_checked_out`): for a goodbye the
    server left on its socket (a restart, a terminated backend), without a round trip; and,
    when it has been idle for over PING_AFTER_IDLE_SECONDS, with a ping as well (a failover:
    the old primary vanished without a word, and its address now answers with a reset). A
    host that drops every packet makes the ping wait, as it would the first statement,
    until `tcp_user_timeout` below. A busy process, whose connections go back to work
    within the second, so saves the round trip SQLAlchemy's pre-ping adds to every
    transaction (a statement and a wake-up on both sides; for a read of one statement, half
    the database's part of the request). The price: after a failover under load, the first
    transaction on a connection used within the second fails (`DatabaseUnavailable`, as the
    transactions in flight then do) and SQLAlchemy replaces the whole pool.

    JIT compilation is off: our statements are short, or (a city's GBFS feed) run once;
    compiling the feed's query took 1.0 s of its 1.1 s (measured with EXPLAIN ANALYZE).

    Connections send TCP keepalives after a minute idle: with the pool handing out the
    connection used last, others may sit idle long enough for a firewall to forget them
    without a word, which a rider's request would otherwise be the first to learn.

    Statements are prepared on a connection the second time it runs them (psycopg's
    default is the sixth), and the pool hands out the connection used last (LIFO): a
    process with a connection per thread otherwise spread its work over every connection,
    each planning the same statements anew. PostgreSQL then plans a prepared statement
    five times and keeps a generic plan if it is as good (plan_cache_mode stays `auto`:
    a generic plan cannot use a partial index whose condition names a parameter). In the
    unlock benchmark it planned 18,688 times for 74,183 statements before, 16,027 times for
    74,651 after (pg_stat_statements; docs/performance.md)."""
    options = "-c jit=off"
    if generic_plans:
        options += " -c plan_cache_mode=force_generic_plan"
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_use_lifo=True,
        connect_args={
            "options": options,
            "prepare_threshold": PREPARE_THRESHOLD,
            **KEEPALIVES,
        },
    )
    event.listen(engine, "checkout", functools.partial(_checked_out, engine.dialect))
    event.listen(engine, "checkin", _idle_from_now)
    return engine


def _checked_out(dialect: Dialect, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Before a pooled connection is used: see `make_engine`. Raising DisconnectionError
    makes SQLAlchemy connect anew in its place; InvalidatePoolError, every connection of
    the pool made before now too (a failover takes them all)."""
    _closed_by_server(dbapi_connection)
    idle_since = record.info.get(_IDLE_SINCE)  # None: connected for this checkout
    if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except psycopg.Error as exc:
        raise InvalidatePoolError("the database did not answer a ping") from exc


def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _closed_by_server(dbapi_connection: Any) -> None:
    """A connection the server ended (a restart, a terminated backend) has its last words
    or its end of file waiting unread on the socket, where an idle connection has nothing:
    found without a round trip. poll(), not select(): select() refuses a socket numbered
    1024 or more, which a process serving many clients reaches."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.pgconn.socket, select.POLLIN)
        waiting = poller.poll(0)
    except (OSError, ValueError, psycopg.Error) as exc:
        raise DisconnectionError("the connection's socket is gone") from exc
    if waiting or dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the server ended this connection")


class UnitOfWork:
    """`with uow:` opens a transaction; nothing is kept unless `commit()` is called.

    `autocommit` runs each statement on its own: a read that needs no snapshot across
    statements saves the BEGIN and ROLLBACK round trips. `read_only` makes transactions
    READ ONLY: a use case given reads that may come from a replica fails on the primary
    too if it tries to write. `lock_keys` seal and open locks' signing keys (none: reading
    or storing one raises LockKeyError)."""

    def __init__(
        self,
        engine: Engine,
        *,
        autocommit: bool = False,
        read_only: bool = False,
        lock_keys: LockKeyRing | None = None,
    ) -> None:
        self._engine = engine
        self._autocommit = autocommit
        self._read_only = read_only
        self._lock_keys = lock_keys or LockKeyRing([])

    def __enter__(self) -> Self:
        try:
            self._connection = self._engine.connect()
        except _TRANSIENT as exc:
            raise DatabaseUnavailable("the database cannot be reached") from exc
        if self._autocommit:
            self._connection = self._connection.execution_options(isolation_level="AUTOCOMMIT")
        if self._read_only:
            self._connection = self._connection.execution_options(postgresql_readonly=True)
        self._transaction = self._connection.begin()
        self._notifications: list[tuple[str, str]] = []
        connection = self._connection
        self.cities = CityRepository(connection)
        self.users = UserRepository(connection)
        self.sessions = SessionRepository(connection)
        self.phone_codes = PhoneCodeRepository(connection)
        self.locks = LockRepository(connection, self._lock_keys)
        self.assets = AssetRepository(connection, self._lock_keys)
        self.cabinets = CabinetRepository(connection)
        self.rentals = RentalRepository(connection)
        self.lock_log = LockLog(connection)
        self.ledger = LedgerRepository(connection)
        self.pricing_plans = PricingPlanRepository(connection)
        self.credit = CreditRepository(connection)
        self.idempotency_keys = IdempotencyKeys(connection)
        self.payments = PaymentRepository(connection)
        self.disputes = DisputeRepository(connection)
        self.zones = ZoneRepository(connection)
        self.reservations = ReservationRepository(connection)
        self.damage_reports = DamageReportRepository(connection)
        self.damage_photos = DamagePhotoRepository(connection)
        self.vehicles = VehicleSearch(connection)
        self.open_data = OpenDataRepository(connection)
        self.vehicle_history = VehicleHistory(connection)
        self.mds_clients = MdsClients(connection)
        self.shared_feeds = SharedFeeds(connection)
        self.rebalancing = RebalancingRepository(connection)
        self.dead_letters = DeadLetterRepository(connection)
        self.alerts = AlertRepository(connection)
        self.operations = OperationsReadModel(connection)
        self.funnel = FunnelMarks(connection)
        self.unmet_demand = UnmetDemand(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._transaction.is_active and self._read_only and exc is None:
                # The same as a rollback for a READ ONLY transaction, and psycopg keeps the
                # connection's prepared statements (a rollback makes it drop them all).
                self._transaction.commit()
            elif self._transaction.is_active:
                self._transaction.rollback()
        except _TRANSIENT:
            pass  # the connection is gone: nothing to roll back
        finally:
            self._connection.close()
        if isinstance(exc, _TRANSIENT):
            raise DatabaseUnavailable("the database did not complete the transaction") from exc

    @property
    def connection(self) -> Connection:
        return self._connection

    def commit(self) -> None:
        try:
            self._transaction.commit()
        except _TRANSIENT as exc:
            raise DatabaseUnavailable("the database did not commit the transaction") from exc
        self._send_notifications()

    def notify(self, channel: str, payload: str) -> None:
        """Sent to LISTENers once this transaction has committed (never if it does not)."""
        self._notifications.append((channel, payload))

    def _send_notifications(self) -> None:
        """The committed transaction's notifications, in a transaction of their own: one
        statement in autocommit, a single round trip (no BEGIN, no COMMIT). What they
        announce is kept whether they go or not: one lost (the connection dropped in
        between) costs its listeners a wait, which each of them bounds (a rider's watch
        reads the rental again at its deadline, the planning worker polls)."""
        if not self._notifications:
            return
        channels, payloads = zip(*self._notifications, strict=True)
        self._notifications = []
        # Autocommit is the driver's own setting (no round trip); it is set back for
        # whatever the unit of work runs after its commit.
        switching = not self._autocommit
        if switching:
            self._connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            self._connection.execute(
                _NOTIFY, {"c": list(channels), "p": list(payloads)}, execution_options=_PLAIN
            )
            self._connection.commit()  # SQLAlchemy's side only: the driver sends nothing
        except DBAPIError as error:  # what they announce is committed: nothing to undo
            log.warning("%d notifications lost: %s", len(channels), error.orig)
        finally:
            # A connection the error invalidated is replaced, with the default, at its next
            # checkout; touching it here would reconnect (and could fail) for nothing.
            if not self._connection.invalidated:
                if self._connection.in_transaction():  # the statement failed: end it
                    self._connection.rollback()
                if switching:
                    default = self._connection.default_isolation_level
                    self._connection.execution_options(isolation_level=default)
