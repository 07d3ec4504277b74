"""The ports besides the unit of work, without a broker or a bank: lock commands that
are recorded what it was asked to send, broker accounts, a payment gateway, the
notices to account owners, and a picture cleaner that decodes nothing (`rental.services.ports`)."""

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, assert_never

from rental.domain.damage_photos import PhotoRules, PhotoType, Picture, not_an_image
from rental.domain.payments import PaymentOrder, Refund
from rental.services.commands.money import GatewayNotification
from rental.services.lock_commands import AcknowledgeEvent, LockCommand, Release, Ring, Unlock
from rental.services.ports import (
    GatewayAnswer,
    GatewayError,
    GatewayOrder,
    GatewayPayment,
    IgnoredNotification,
    LockCommandError,
    Notification,
    SmsError,
)


@dataclass(frozen=True)
class SentUnlock:
    """An unlock the platform asked a lock (or a cabinet, for `slot`) to perform."""

    lock_id: str
    rental_id: uuid.UUID
    cmd_id: uuid.UUID | None
    slot: int | None
    expires_at: datetime | None


class RecordingLockCommands:
    """The lock port without a broker: keeps what it was asked to send. `sent` holds the
    unlocks and releases (`SentUnlock`); `rung` the rings; `acknowledged` the acknowledgements.
    With `fail=True` every call raises LockCommandError, as when the broker is down."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[Any] = []
        self.acknowledged: list[Any] = []
        self.rung: list[Ring] = []

    def send(self, command: LockCommand) -> None:
        if self.fail:
            raise LockCommandError("the broker is not answering (fake)")
        match command:
            case Unlock():
                self.sent.append(self._unlock(command, None))
            case Release():
                self.sent.append(self._unlock(command, command.slot))
            case Ring():
                self.rung.append(command)
            case AcknowledgeEvent():
                self.acknowledged.append(command)
            case _:
                assert_never(command)

    @staticmethod
    def _unlock(command: Unlock | Release, slot: int | None) -> SentUnlock:
        return SentUnlock(
            command.lock_id, command.rental_id, command.command_id, slot, command.expires_at
        )


class FakeBrokerAccounts:
    """`BrokerAccountsPort` without a broker: `created` maps lock ids to their passwords.
    `fail_with` is raised by the next call instead (e.g. lockctl's BrokerAccountError)."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}
        self.fail_with: Exception | None = None

    def create_lock_account(self, lock_id: str, password: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.created[lock_id] = password


FAKE_SIGNATURE_HEADER = "X-Fake-Signature"


class FakePaymentGateway:
    """A gateway that opens orders at once and records refunds asked of it; `fail=True`
    makes it unreachable (GatewayError). Its notifications are JSON bodies signed by the
    header `X-Fake-Signature: <name>`: build them with `notification()`, or `posted()`
    for the command the HTTP edge makes of one. `trades` holds every trade it issued, as
    `query_payment` answers; a notification of a payment marks its trade paid, as a
    gateway notifies only once it took the money. `refunds_at_once=True` makes it settle
    each refund in its answer, as Alipay does; an event starting `other.` is one the
    platform does not act on (IgnoredNotification)."""

    def __init__(
        self, name: str = "fake", *, fail: bool = False, refunds_at_once: bool = False
    ) -> None:
        self.name = name
        self.fail = fail
        self.refunds_at_once = refunds_at_once
        self.orders: list[tuple[PaymentOrder, str]] = []  # (order, notify_url)
        self.refunds: list[tuple[Refund, PaymentOrder, str]] = []
        self.trades: dict[str, GatewayPayment] = {}
        self.queried: list[str] = []

    def create_order(self, order: PaymentOrder, notify_url: str) -> GatewayOrder:
        self._check()
        self.orders.append((order, notify_url))
        trade_no = f"{self.name}-{order.id.hex[:16]}"
        self.trades[trade_no] = GatewayPayment(
            trade_no, str(order.id), order.amount_minor, order.currency, paid=False
        )
        return GatewayOrder(trade_no, f"https://pay.example/{self.name}/{trade_no}")

    def request_refund(
        self, refund: Refund, order: PaymentOrder, notify_url: str
    ) -> Notification | None:
        self._check()
        self.refunds.append((refund, order, notify_url))
        if not self.refunds_at_once:
            return None
        assert order.trade_no is not None
        return Notification(
            "refund.succeeded", order.trade_no, str(refund.id), refund.amount_minor, order.currency
        )

    def acknowledgement(self) -> GatewayAnswer:
        return GatewayAnswer(200, b"success", "text/plain")

    def parse_notification(
        self, headers: dict[str, str], body: bytes
    ) -> Notification | IgnoredNotification | None:
        """The notification if it bears this gateway's signature and parses, else None."""
        if headers.get(FAKE_SIGNATURE_HEADER) != self.name:
            return None
        try:
            event = json.loads(body)
            if str(event["event"]).startswith("other."):
                return IgnoredNotification(str(event["event"]))
            return Notification(
                event=str(event["event"]),
                trade_no=str(event["trade_no"]),
                reference=str(event["reference"]),
                amount_minor=int(event["amount_minor"]),
                currency=str(event["currency"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def query_payment(self, trade_no: str) -> GatewayPayment | None:
        self._check()
        self.queried.append(trade_no)
        return self.trades.get(trade_no)

    def notification(self, values: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
        """Headers and body of a notification from this gateway: `values` holds event,
        trade_no, reference (our order or refund id), amount_minor and currency."""
        trade = self.trades.get(str(values.get("trade_no")))
        if trade is not None and values.get("event") == "payment.succeeded":
            self.trades[trade.trade_no] = replace(trade, paid=True)
        body = json.dumps(dict(values), default=str).encode()
        return {FAKE_SIGNATURE_HEADER: self.name}, body

    def posted_unrecorded(self, order: PaymentOrder, event: str) -> GatewayNotification:
        """A notification about `order` signed by this gateway although its own records
        do not say so (a leaked key, a replay): `trades` is left as it is."""
        values = {
            "event": event,
            "trade_no": order.trade_no,
            "reference": order.id,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
        }
        body = json.dumps(values, default=str).encode()
        return GatewayNotification(self.name, {FAKE_SIGNATURE_HEADER: self.name}, body)

    def posted(self, values: Mapping[str, Any], to: str | None = None) -> GatewayNotification:
        """This gateway's notification as the HTTP edge hands it to the use case, posted to
        the address of gateway `to` (by default its own)."""
        headers, body = self.notification(values)
        return GatewayNotification(to or self.name, headers, body)

    def _check(self) -> None:
        if self.fail:
            raise GatewayError("the payment gateway is not answering (fake)")


class FakePasswords:
    """`PasswordHasher` without the cost: a salted SHA-256, enough to tell passwords
    apart in memory (never a real password store). `hashed` and `checked` count every
    hash made and every check."""

    def __init__(self) -> None:
        self.hashed = 0
        self.checked = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        salt = uuid.uuid4().hex[:8]
        return f"fake${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"

    def matches(self, stored: str | None, password: str) -> bool:
        self.checked += 1
        if stored is None:
            return False
        _, salt, digest = stored.split("$")
        return hashlib.sha256((salt + password).encode()).hexdigest() == digest


class FakeSms:
    """`SmsSender` that keeps each text: `sent` holds (phone, code); `fail=True` makes
    the provider unreachable (SmsError); `refuse_with` raises that error instead."""

    def __init__(self, *, fail: bool = False, refuse_with: SmsError | None = None) -> None:
        self.fail = fail
        self.refuse_with = refuse_with
        self.sent: list[tuple[str, str]] = []

    def send_code(self, phone: str, code: str) -> None:
        if self.refuse_with is not None:
            raise self.refuse_with
        if self.fail:
            raise SmsError("the SMS provider is not answering (fake)")
        self.sent.append((phone, code))


# What FakePictureCleaner takes for an image: these bytes first, then anything.
FAKE_IMAGE_MAGIC = b"IMAGE:"


class FakePictureCleaner:
    """`PictureCleaner` without decoding: a body starting with FAKE_IMAGE_MAGIC is an image
    of the declared kind, 640 x 480, stored as its bytes with the magic dropped (as the real
    one drops metadata); anything else is `not_an_image`. `seen` records every body."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def cleaned(self, data: bytes, declared: PhotoType, rules: PhotoRules) -> Picture:
        self.seen.append(data)
        if not data.startswith(FAKE_IMAGE_MAGIC):
            raise not_an_image(declared)
        return Picture(declared, data.removeprefix(FAKE_IMAGE_MAGIC), 640, 480)
