"""In-memory stand-ins for the unit of work and the ports, so that a use case runs in
milliseconds without PostgreSQL, Mosquitto or a payment gateway (cosmicpython's
FakeRepository and FakeUnitOfWork, grown to this platform's repositories).

Every fake repository copies the rules its SQL adapter in `rental.adapters` enforces:
the unique constraints that mean a business error (`Conflict`, `DuplicateRequest`), the
availability of an asset (`rental.domain.fleet.unavailable_because`, which is what
`rental.adapters.availability` says in SQL), the ledger's balanced postings and running
balances, one current pricing plan per city and kind, and what the adapter returns: the
domain's records and the read models of `rental.services.read_models`, in the adapter's
order. A constraint the adapter leaves as a bare IntegrityError raises
`IntegrityViolation` here. Foreign keys are not checked, except where an adapter turns one
into an answer (`LockLog`: NotFound for an unknown lock).

PostGIS is approximated with shapely and haversine (`rental.domain.trace.distance_m`):
lengths and distances on a sphere rather than the WGS 84 spheroid (within 0.5 %);
coverage tests are planar in degrees, as PostGIS does them on `geometry`. Each docstring
that says "approximates" names what else differs.

One `Store` holds every table. `FakeUnitOfWork` snapshots it on `__enter__` and puts the
snapshot back on `__exit__` unless `commit()` was called, so work not committed is rolled
back. Several units of work share one store (`fake_uow_factory`), as `Platform.uow()`
hands out connections to one database. Units of work that overlap in time are not
isolated from each other: a rollback restores its own snapshot, dropping what another
committed meanwhile. The use cases run one at a time, so none does that.

The modules follow `rental.services.repositories`: `store` (the tables, the constraints,
the base of every repository), `unit_of_work`, one module per context (`riders`, `fleet`,
`rides`, `money`, `city`, `open_data`, `rebalancing`), and `ports` for the lock channel,
the broker accounts, the payment gateway and the notices to account owners. `world`
builds on them what the use cases' tests start from: a city with prices, bikes, cabinets,
riders with money, finished rides.
"""

from tests.unit.fakes.ports import (
    FAKE_SIGNATURE_HEADER,
    FakeBrokerAccounts,
    FakePasswords,
    FakePaymentGateway,
    RecordingLockCommands,
    SentUnlock,
)
from tests.unit.fakes.store import CONFLICTS, IDEMPOTENCY_KEYS, IntegrityViolation, Store
from tests.unit.fakes.unit_of_work import FakeUnitOfWork, fake_uow_factory

__all__ = [
    "CONFLICTS",
    "FAKE_SIGNATURE_HEADER",
    "IDEMPOTENCY_KEYS",
    "FakeBrokerAccounts",
    "FakePasswords",
    "FakePaymentGateway",
    "FakeUnitOfWork",
    "IntegrityViolation",
    "RecordingLockCommands",
    "SentUnlock",
    "Store",
    "fake_uow_factory",
]
