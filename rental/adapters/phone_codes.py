"""Sign-in codes waiting for their phones, in PostgreSQL."""

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert

from rental.adapters.tables import phone_codes
from rental.domain.phone_codes import PhoneCode


class PhoneCodeRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def put(self, code: PhoneCode) -> None:
        values = {
            "phone": code.phone,
            "code_hash": code.code_hash,
            "expires_at": code.expires_at,
            "tries_left": code.tries_left,
        }
        statement = insert(phone_codes).values(**values)
        self._c.execute(statement.on_conflict_do_update(index_elements=["phone"], set_=values))

    def get(self, phone: str, *, for_update: bool = False) -> PhoneCode | None:
        query = select(phone_codes).where(phone_codes.c.phone == phone)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return PhoneCode(row.phone, row.code_hash, row.expires_at, row.tries_left) if row else None

    def save(self, code: PhoneCode) -> None:
        self._c.execute(
            update(phone_codes)
            .where(phone_codes.c.phone == code.phone)
            .values(tries_left=code.tries_left)
        )

    def delete(self, phone: str) -> None:
        self._c.execute(delete(phone_codes).where(phone_codes.c.phone == phone))
