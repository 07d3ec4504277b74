"""Every call that can be retried carries a key; the same key answers the first result."""

from rental.domain.errors import InvalidInput

MAX_IDEMPOTENCY_KEY_LENGTH = 64


def check_idempotency_key(key: object) -> str:
    if not isinstance(key, str) or not 8 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidInput(
            "idempotency_key must be a string of 8 to 64 characters (a fresh UUID per request)",
            "invalid_idempotency_key",
        )
    return key
