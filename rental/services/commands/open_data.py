"""Commands of the open data context: who may read MDS, and what a client asks for."""

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class RegisterMdsClient:
    city_id: str
    name: str  # who the client is, trimmed


@dataclass(frozen=True)
class MdsPage:
    """One page of a list in id order: after the cursor of the previous page's last row."""

    after: UUID | None
    limit: int
