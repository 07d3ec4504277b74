"""The sandbox SMS provider: messages are kept in the database instead of being sent, for
the demo's page of texts (`GET /sandbox/sms`) and the tests to read. Kept in PostgreSQL,
not in memory, because every API worker process must show every text."""

from datetime import datetime

from sqlalchemy import Engine, insert, select

from rental.adapters.tables import sandbox_sms
from rental.services.ports import SmsError

SHOWN_TEXTS = 50


class SandboxSms:
    name = "sandbox"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def send_code(self, phone: str, code: str) -> None:
        body = f"Your sign-in code is {code}. It expires in 5 minutes; never share it."
        with self._engine.begin() as connection:
            connection.execute(insert(sandbox_sms).values(phone=phone, body=body))

    def latest(self, limit: int = SHOWN_TEXTS) -> list[tuple[datetime, str, str]]:
        """The newest texts first: (sent_at, phone, body)."""
        query = select(sandbox_sms).order_by(sandbox_sms.c.id.desc()).limit(limit)
        with self._engine.connect() as connection:
            return [(row.sent_at, row.phone, row.body) for row in connection.execute(query)]


class NoSms:
    """No SMS provider configured: codes cannot be sent (the API answers 503)."""

    name = "none"

    def send_code(self, phone: str, code: str) -> None:
        raise SmsError("no SMS provider is configured (SMS_PROVIDER)")
