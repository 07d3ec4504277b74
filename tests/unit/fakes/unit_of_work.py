"""The unit of work in memory: one fake repository per member of
`rental.services.unit_of_work.UnitOfWork`, all working on one `Store`, which units of work
share as connections share a database."""

import copy
from collections.abc import Callable
from types import TracebackType
from typing import Self

from tests.unit.fakes.city import FakeCityRepository, FakeZoneRepository
from tests.unit.fakes.demand import FakeUnmetDemand
from tests.unit.fakes.fleet import (
    FakeAssetRepository,
    FakeCabinetRepository,
    FakeDamagePhotoRepository,
    FakeDamageReportRepository,
    FakeLockRepository,
    FakeVehicleSearch,
)
from tests.unit.fakes.funnel import FakeFunnelMarks
from tests.unit.fakes.money import (
    FakeDisputeRepository,
    FakeLedgerRepository,
    FakePaymentRepository,
    FakePricingPlanRepository,
)
from tests.unit.fakes.open_data import (
    FakeMdsClients,
    FakeOpenDataRepository,
    FakeSharedFeeds,
    FakeVehicleHistory,
)
from tests.unit.fakes.operations import FakeOperationsReadModel
from tests.unit.fakes.rebalancing import FakeRebalancingRepository
from tests.unit.fakes.riders import (
    FakeCreditRepository,
    FakeIdempotencyKeys,
    FakePhoneCodeRepository,
    FakeSessionRepository,
    FakeUserRepository,
)
from tests.unit.fakes.rides import (
    FakeAlertRepository,
    FakeDeadLetterRepository,
    FakeLockLog,
    FakeRentalRepository,
    FakeReservationRepository,
)
from tests.unit.fakes.store import Store


class FakeUnitOfWork:
    """`rental.services.unit_of_work.UnitOfWork` in memory: `with uow:` snapshots the store,
    `__exit__` restores the snapshot unless `commit()` was called since. `committed` turns
    true at the first commit and stays so (cosmicpython's flag); `commits` counts them.
    `notified` holds what this unit of work notified in committed transactions."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()
        self.active = False
        self.committed = False
        self.commits = 0
        self.notified: list[tuple[str, str]] = []
        self._pending: list[tuple[str, str]] = []
        self._snapshot: Store | None = None
        self.users = FakeUserRepository(self)
        self.sessions = FakeSessionRepository(self)
        self.phone_codes = FakePhoneCodeRepository(self)
        self.credit = FakeCreditRepository(self)
        self.idempotency_keys = FakeIdempotencyKeys(self)
        self.assets = FakeAssetRepository(self)
        self.locks = FakeLockRepository(self)
        self.cabinets = FakeCabinetRepository(self)
        self.damage_reports = FakeDamageReportRepository(self)
        self.damage_photos = FakeDamagePhotoRepository(self)
        self.vehicles = FakeVehicleSearch(self)
        self.rentals = FakeRentalRepository(self)
        self.lock_log = FakeLockLog(self)
        self.reservations = FakeReservationRepository(self)
        self.alerts = FakeAlertRepository(self)
        self.dead_letters = FakeDeadLetterRepository(self)
        self.ledger = FakeLedgerRepository(self)
        self.payments = FakePaymentRepository(self)
        self.disputes = FakeDisputeRepository(self)
        self.pricing_plans = FakePricingPlanRepository(self)
        self.cities = FakeCityRepository(self)
        self.zones = FakeZoneRepository(self)
        self.open_data = FakeOpenDataRepository(self)
        self.vehicle_history = FakeVehicleHistory(self)
        self.mds_clients = FakeMdsClients(self)
        self.shared_feeds = FakeSharedFeeds(self)
        self.rebalancing = FakeRebalancingRepository(self)
        self.operations = FakeOperationsReadModel(self)
        self.funnel = FakeFunnelMarks(self)
        self.unmet_demand = FakeUnmetDemand(self)

    def __enter__(self) -> Self:
        if self.active:
            # The SQL unit of work would drop its first transaction: a bug in the caller.
            raise RuntimeError("this unit of work is already in a transaction")
        self.active = True
        self._snapshot = copy.deepcopy(self.store)
        self._pending = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._snapshot is not None
        self.store.restore(self._snapshot)  # whatever was not committed goes
        self._snapshot = None
        self._pending = []
        self.active = False

    def commit(self) -> None:
        if not self.active:
            raise RuntimeError("commit() outside `with uow:`")
        self.store.notifications.extend(self._pending)
        self.notified.extend(self._pending)
        self._pending = []
        self._snapshot = copy.deepcopy(self.store)
        self.committed = True
        self.commits += 1

    def notify(self, channel: str, payload: str) -> None:
        """Kept for `notified` when, and only if, this transaction commits."""
        if not self.active:
            raise RuntimeError("notify() outside `with uow:`")
        self._pending.append((channel, payload))


def fake_uow_factory(store: Store) -> Callable[[], FakeUnitOfWork]:
    """A new unit of work on `store` per call, as `Platform.uow` gives one per use case."""
    return lambda: FakeUnitOfWork(store)
