"""The one rule every retryable use case applies to its idempotency key
(`rental.domain.idempotency`)."""

from uuid import UUID

from rental.domain.idempotency import KeyUse, check_same_request
from rental.services.unit_of_work import UnitOfWork


def claim_key(uow: UnitOfWork, rider_id: UUID, key: str, use: KeyUse) -> None:
    """In the caller's transaction: the key now names `use`, or named it already (a retry,
    which the caller answers with its first result). The claim goes with the transaction,
    so a request refused for another reason leaves its key free.

    Raises KeyReused (409 `idempotency_key_reused`) when the key named another request."""
    earlier = uow.idempotency_keys.claim(rider_id, key, use)
    if earlier is not None:
        check_same_request(earlier, use)
