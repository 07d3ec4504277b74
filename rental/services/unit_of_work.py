"""The unit of work the use cases own: one transaction, and the repositories that work in it.

`with uow:` opens the transaction; nothing is kept unless `commit()` is called. The
repositories are grouped by context in `rental.services.repositories`. PostgreSQL
implements it in `rental.adapters.db`, memory in `tests/unit/fakes/`. A database that
does not answer raises `rental.domain.errors.Unavailable`.
"""

from types import TracebackType
from typing import Protocol, Self

from rental.services.repositories.city import CityRepository, ZoneRepository
from rental.services.repositories.demand import UnmetDemand
from rental.services.repositories.fleet import (
    AssetRepository,
    CabinetRepository,
    DamagePhotoRepository,
    DamageReportRepository,
    LockRepository,
    VehicleSearch,
)
from rental.services.repositories.funnel import FunnelMarks
from rental.services.repositories.money import (
    DisputeRepository,
    LedgerRepository,
    PaymentRepository,
    PricingPlanRepository,
)
from rental.services.repositories.open_data import (
    MdsClients,
    OpenDataRepository,
    SharedFeeds,
    VehicleHistory,
)
from rental.services.repositories.operations import OperationsReadModel
from rental.services.repositories.rebalancing import RebalancingRepository
from rental.services.repositories.riders import (
    CreditRepository,
    IdempotencyKeys,
    PhoneCodeRepository,
    SessionRepository,
    UserRepository,
)
from rental.services.repositories.rides import (
    AlertRepository,
    DeadLetterRepository,
    LockLog,
    RentalRepository,
    ReservationRepository,
)


class UnitOfWork(Protocol):
    # Read-only members: an implementation may hold subtypes of these repositories.
    # riders
    @property
    def users(self) -> UserRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def phone_codes(self) -> PhoneCodeRepository: ...
    @property
    def credit(self) -> CreditRepository: ...
    @property
    def idempotency_keys(self) -> IdempotencyKeys: ...
    # fleet
    @property
    def assets(self) -> AssetRepository: ...
    @property
    def locks(self) -> LockRepository: ...
    @property
    def cabinets(self) -> CabinetRepository: ...
    @property
    def damage_reports(self) -> DamageReportRepository: ...
    @property
    def damage_photos(self) -> DamagePhotoRepository: ...
    @property
    def vehicles(self) -> VehicleSearch: ...
    # rides
    @property
    def rentals(self) -> RentalRepository: ...
    @property
    def lock_log(self) -> LockLog: ...
    @property
    def reservations(self) -> ReservationRepository: ...
    @property
    def alerts(self) -> AlertRepository: ...
    @property
    def dead_letters(self) -> DeadLetterRepository: ...
    # money
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def payments(self) -> PaymentRepository: ...
    @property
    def disputes(self) -> DisputeRepository: ...
    @property
    def pricing_plans(self) -> PricingPlanRepository: ...
    # city
    @property
    def cities(self) -> CityRepository: ...
    @property
    def zones(self) -> ZoneRepository: ...
    # open data
    @property
    def open_data(self) -> OpenDataRepository: ...
    @property
    def vehicle_history(self) -> VehicleHistory: ...
    @property
    def mds_clients(self) -> MdsClients: ...
    @property
    def shared_feeds(self) -> SharedFeeds: ...
    # rebalancing
    @property
    def rebalancing(self) -> RebalancingRepository: ...
    # operations (the dashboard's figures, searches that found nothing)
    @property
    def operations(self) -> OperationsReadModel: ...
    # the rider funnel
    @property
    def funnel(self) -> FunnelMarks: ...
    @property
    def unmet_demand(self) -> UnmetDemand: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def notify(self, channel: str, payload: str) -> None:
        """Tell listeners (apps waiting on a rental) once this has committed, and never
        if it does not. At most once: a notification may be lost after the commit, and
        each listener bounds what that costs it (a wait)."""
        ...
