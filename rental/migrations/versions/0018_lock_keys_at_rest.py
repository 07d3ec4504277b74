"""lock signing keys sealed at rest: each stored as a Fernet token, not raw

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 10:00:00.000000

The keys come from LOCK_KEY_ENCRYPTION_KEYS (rental/adapters/lock_keys.py), newest first:
raw keys are sealed under the first. A database with locks cannot be brought past this
revision without it (nothing changes then); an empty one can.
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, MultiFernet

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING = "LOCK_KEY_ENCRYPTION_KEYS"
TOKEN_PREFIX = b"gAAAAA"  # a Fernet token's version byte and timestamp, in base64
FORMAT = (
    "a Fernet token of the 32-byte HMAC key of the lock, sealed with LOCK_KEY_ENCRYPTION_KEYS"
    " (rental/adapters/lock_keys.py)"
)
RAW_FORMAT = "the 32-byte HMAC key of the lock"


def _ring() -> MultiFernet:
    keys = [key.strip() for key in os.environ.get(SETTING, "").split(",") if key.strip()]
    if not keys:
        raise RuntimeError(
            f"{SETTING} is not set: the locks' signing keys are sealed with it from now on "
            "(`python -m rental new-lock-key` makes one; keep it with the database's secrets)"
        )
    return MultiFernet([Fernet(key) for key in keys])


def _rows() -> list[tuple[str, bytes]]:
    found = op.get_bind().execute(sa.text("SELECT id, signing_key FROM locks ORDER BY id"))
    return [(lock_id, bytes(stored)) for lock_id, stored in found]


def _store(lock_id: str, value: bytes) -> None:
    op.get_bind().execute(
        sa.text("UPDATE locks SET signing_key = :value WHERE id = :id"),
        {"value": value, "id": lock_id},
    )


def upgrade() -> None:
    raw = [(lock_id, stored) for lock_id, stored in _rows() if not stored.startswith(TOKEN_PREFIX)]
    if raw:
        ring = _ring()
        for lock_id, stored in raw:
            _store(lock_id, ring.encrypt(stored))
    op.execute(f"COMMENT ON COLUMN locks.signing_key IS '{FORMAT}'")


def downgrade() -> None:
    sealed = [(lock_id, stored) for lock_id, stored in _rows() if stored.startswith(TOKEN_PREFIX)]
    if sealed:
        ring = _ring()
        for lock_id, stored in sealed:
            _store(lock_id, ring.decrypt(stored))
    op.execute(f"COMMENT ON COLUMN locks.signing_key IS '{RAW_FORMAT}'")
