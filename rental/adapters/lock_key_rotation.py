"""`python -m rental rotate-lock-keys`: every lock's signing key sealed again under the
newest key of LOCK_KEY_ENCRYPTION_KEYS (a key still stored raw, from before sealing, is
sealed). Batch by batch, each in its own transaction: locks keep working meanwhile, and a
run stopped halfway is simply run again."""

from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from rental.adapters.lock_keys import LockKeyRing, is_sealed
from rental.adapters.tables import locks

BATCH = 500


@dataclass(frozen=True)
class Resealed:
    resealed: int  # sealed before, now under the newest key
    sealed: int  # stored raw before


def reseal_lock_keys(engine: Engine, keys: LockKeyRing, batch: int = BATCH) -> Resealed:
    """Raises LockKeyError, naming the lock, if no key of the ring opens one: nothing of
    that batch changes, batches before it stay done."""
    resealed = sealed = 0
    after = ""
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(locks.c.id, locks.c.signing_key)
                .where(locks.c.id > after)
                .order_by(locks.c.id)
                .limit(batch)
                .with_for_update(key_share=True)
            ).all()
            for lock_id, stored in rows:
                stored = bytes(stored)
                if is_sealed(stored):
                    resealed += 1
                else:
                    sealed += 1
                new = keys.reseal(lock_id, stored)
                connection.execute(
                    update(locks).where(locks.c.id == lock_id).values(signing_key=new)
                )
        if len(rows) < batch:
            return Resealed(resealed, sealed)
        after = rows[-1][0]
