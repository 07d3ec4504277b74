"""Locks' signing keys, sealed at rest with keys kept outside the database.

Each lock's HMAC key (docs/lock-protocol.md §4.1) is what lets the platform open it: the
database holds it only as a Fernet token (AES-128-CBC with HMAC-SHA256, from
`cryptography`) made with the first key of LOCK_KEY_ENCRYPTION_KEYS, a comma-separated
list, newest first. Any key of the list opens a token, so keys rotate without a pause: put
a new key first, run `python -m rental rotate-lock-keys` (every stored key sealed again
under it), then drop the old one. A dump of the database alone opens no lock.
"""

import functools
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from rental.domain.errors import Unavailable

SETTING = "LOCK_KEY_ENCRYPTION_KEYS"
# A Fernet token starts with its version byte 0x80 and a timestamp whose first bytes are
# zero for millennia: base64 "gAAAAA". Raw keys from before sealing are 32 random bytes.
TOKEN_PREFIX = b"gAAAAA"
# Opened keys kept per process, by their sealed form: every scan (in the API) and every
# answer of a lock (in lockctl) opens its lock's key, and a Fernet decryption was 2 to 3 %
# of both processes' CPU in an unlock burst (docs/performance.md); a bike is unlocked
# again and again. A city's fleet fits. Holding them adds no exposure: a process that
# opens keys holds LOCK_KEY_ENCRYPTION_KEYS, which opens all of them from the database.
OPENED_KEYS = 1 << 17


class LockKeyError(Unavailable):
    """A lock's signing key cannot be opened: no key configured, or none that fits."""

    code = "lock_keys_unavailable"


class LockKeyRing:
    """Seals and opens locks' signing keys with the keys of LOCK_KEY_ENCRYPTION_KEYS."""

    def __init__(self, keys: Sequence[str]) -> None:
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except ValueError as exc:
                raise ValueError(
                    f"{SETTING}: key {number} is not a Fernet key (32 bytes, URL-safe base64;"
                    " make one with: python -m rental new-lock-key)"
                ) from exc
        self._ring = MultiFernet(fernets) if fernets else None
        self._opened = functools.lru_cache(maxsize=OPENED_KEYS)(self._decrypt)

    @classmethod
    def from_setting(cls, text: str) -> "LockKeyRing":
        return cls([key.strip() for key in text.split(",") if key.strip()])

    @property
    def configured(self) -> bool:
        return self._ring is not None

    def seal(self, signing_key: bytes) -> bytes:
        return self._keys().encrypt(signing_key)

    def open(self, lock_id: str, stored: bytes) -> bytes:
        """The signing key; LockKeyError if the stored value is not sealed or no key of
        the list opens it."""
        if not is_sealed(stored):
            raise LockKeyError(
                f"the signing key of lock {lock_id} is stored unsealed: "
                "run `python -m rental rotate-lock-keys`"
            )
        try:
            opened: bytes = self._opened(bytes(stored))
        except InvalidToken as exc:
            raise LockKeyError(
                f"no key of {SETTING} opens the signing key of lock {lock_id}: "
                "was the key it was sealed with dropped?"
            ) from exc
        return opened

    def _decrypt(self, stored: bytes) -> bytes:
        return self._keys().decrypt(stored)

    def reseal(self, lock_id: str, stored: bytes) -> bytes:
        """The value sealed under the newest key: a raw key is sealed, a token is opened
        (with any key of the list) and sealed again."""
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            return self._keys().rotate(stored)
        except InvalidToken as exc:
            raise LockKeyError(
                f"no key of {SETTING} opens the signing key of lock {lock_id}"
            ) from exc

    def _keys(self) -> MultiFernet:
        if self._ring is None:
            raise LockKeyError(
                f"{SETTING} is not set: locks' signing keys are sealed with it "
                "(scripts/services.sh makes one for the demo in var/secrets)"
            )
        return self._ring


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(TOKEN_PREFIX)


def new_key() -> str:
    """A fresh key for LOCK_KEY_ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode()
