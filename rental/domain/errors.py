"""The errors a use case can raise, each with a stable machine-readable code.

    RentalError
    ├── InvalidInput          the request itself is wrong
    │   ├── TooLarge          a body (a photo) over its size limit
    │   └── UnsupportedType   a body of a media type the endpoint does not take
    ├── NotAuthenticated      no or bad credentials
    ├── Forbidden             authenticated, but not allowed
    ├── NotFound              no such thing (or not yours)
    ├── NotAcceptable         no representation the client accepts (a version)
    ├── Conflict              the world is not in a state that allows it
    │   ├── DuplicateRequest  an idempotency key seen before: answer the first result
    │   └── KeyReused         an idempotency key seen before on another request
    │                         (rental.domain.idempotency)
    ├── LimitReached          a rider used up a fair-use limit; allowed again at `retry_at`
    └── Unavailable           a service we depend on did not answer

The API maps each class to one HTTP status in one place (`rental.api.errors`). `field`
names the part of the request that was wrong, when it was one ("phone", "zones.0.name").
"""

import math
from datetime import datetime


class RentalError(Exception):
    code = "error"

    def __init__(self, message: str, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(RentalError):
    code = "invalid_input"


class TooLarge(InvalidInput):
    code = "too_large"


class UnsupportedType(InvalidInput):
    code = "unsupported_type"


class NotAuthenticated(RentalError):
    code = "not_authenticated"


class Forbidden(RentalError):
    code = "forbidden"


class NotFound(RentalError):
    code = "not_found"


class NotAcceptable(RentalError):
    code = "not_acceptable"


class Conflict(RentalError):
    code = "conflict"


class LimitReached(RentalError):
    """A fair-use limit of `rental.domain.fair_use`: the rider may try again at `retry_at`,
    `retry_after_seconds` from when it was refused (at least 1)."""

    code = "limit_reached"

    def __init__(self, message: str, code: str, *, retry_at: datetime, now: datetime) -> None:
        super().__init__(message, code)
        self.retry_at = retry_at
        self.retry_after_seconds = max(1, math.ceil((retry_at - now).total_seconds()))


class Unavailable(RentalError):
    code = "unavailable"


class DuplicateRequest(Conflict):
    """The same idempotency key arrived twice at once; the first request wins."""
