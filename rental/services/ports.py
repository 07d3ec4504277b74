"""Interfaces the use cases need from the outside world, each with a real and a fake adapter."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from rental.domain.damage_photos import PhotoRules, PhotoType, Picture
from rental.domain.payments import PaymentOrder, Refund
from rental.services.lock_commands import LockCommand


class LockCommandError(Exception):
    """The command could not be handed to the broker."""


class LockCommands(Protocol):
    def send(self, command: LockCommand) -> None:
        """Hand any lock command (`rental.services.lock_commands`) to its lock; raises
        LockCommandError when it cannot be."""
        ...


class BrokerAccountsPort(Protocol):
    def create_lock_account(self, lock_id: str, password: str) -> None: ...


class PasswordHasher(Protocol):
    """Keeps passwords as slow, salted hashes (implemented with werkzeug in the adapters)."""

    def hash(self, password: str) -> str: ...

    def matches(self, stored: str | None, password: str) -> bool:
        """Whether `password` made `stored`; `None` (no such account) never matches, but
        takes as long to check."""
        ...


class GatewayError(Exception):
    """The payment gateway could not be reached or refused the call."""


@dataclass(frozen=True)
class GatewayOrder:
    """An order opened at a gateway: where the rider pays, and the gateway's number for
    the trade when it gives one before the payment (Stripe does; Alipay and WeChat Pay
    number a trade only once it is paid, and say it in their notification)."""

    trade_no: str | None
    pay_url: str


@dataclass(frozen=True)
class Notification:
    """What a gateway told us about one of our orders or refunds."""

    event: str  # a rental.domain.payments.GatewayEvent, unless the gateway says something new
    trade_no: str
    reference: str  # our order id (payments) or refund id (refunds)
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class IgnoredNotification:
    """An authentic notification that needs nothing from us (a provider also reports
    events we do not act on, e.g. Stripe's `payment_intent.created`): acknowledged, so
    the provider stops sending it, and otherwise dropped."""

    kind: str  # the provider's name for the event, for the log


@dataclass(frozen=True)
class GatewayAnswer:
    """What a provider expects to hear back when its notification was taken, so it stops
    retrying: each has its own (Alipay the plain text `success`, WeChat Pay v3 an empty
    204 or 200, Stripe any 2xx)."""

    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class GatewayPayment:
    """What a gateway answers when asked about one of its trades."""

    trade_no: str
    reference: str  # our order id, as we gave it when the order was opened
    amount_minor: int
    currency: str
    paid: bool


class PaymentGateway(Protocol):
    """One payment provider (the sandbox, Alipay, WeChat Pay, Stripe), by its `name`.
    Every call that reaches the provider raises GatewayError when it cannot be made."""

    name: str

    def create_order(self, order: PaymentOrder, notify_url: str) -> GatewayOrder:
        """Open `order` at the provider, in the form a phone's browser pays (its `pay_url`);
        the provider reports the payment to `notify_url`."""
        ...

    def request_refund(
        self, refund: Refund, order: PaymentOrder, notify_url: str
    ) -> Notification | None:
        """Ask the provider to pay `refund` back on `order`'s trade. A provider that
        settles refunds at once and sends no notification of them (Alipay) answers
        with the refund's outcome, believed as its notification would be; the others
        answer None and report to `notify_url` later."""
        ...

    def parse_notification(
        self, headers: dict[str, str], body: bytes
    ) -> Notification | IgnoredNotification | None:
        """The provider's notification, read from its raw body and headers exactly as
        sent; None unless its signature is the provider's (and fresh, where the provider
        dates it). Believing what it says is the use case's rule, the same for all."""
        ...

    def acknowledgement(self) -> GatewayAnswer:
        """What the provider expects back for a notification taken (or a repeat)."""
        ...

    def query_payment(self, trade_no: str) -> GatewayPayment | None:
        """The gateway's own record of trade `trade_no`, None when it never issued it.
        Raises GatewayError when it cannot be asked."""
        ...


@dataclass(frozen=True)
class StatementLine:
    """One movement of money in a provider's daily statement (its bill): a payment taken
    or a refund paid, as the provider booked it."""

    kind: str  # "payment" or "refund"
    trade_no: str  # the provider's number for the trade
    reference: str  # our order id (payments) or refund id (refunds), as we gave it
    amount_minor: int
    currency: str
    at: datetime  # when the provider booked it, aware


class GatewayStatements(Protocol):
    """A provider's daily statement, for reconciliation (`python -m rental reconcile`)."""

    name: str

    def statement(self, day: date) -> list[StatementLine]:
        """Every payment and refund the provider booked on `day` (a day of the provider's
        own statement, in its own time zone: Beijing time for Alipay and WeChat Pay,
        UTC for Stripe), read from its documented CSV. Raises GatewayError."""
        ...


# The gateways by their names. Each payment order records the gateway that took its
# money: its refunds go back through that one, and a notification is believed only from
# the gateway it names.
PaymentGateways = Mapping[str, PaymentGateway]


class SmsError(Exception):
    """The SMS provider could not be reached or refused the message (our account, keys,
    sign name, template or balance, or the provider itself: the API answers 503).

        SmsError
        ├── SmsNumberRefused   the provider will not text this number (400 invalid_phone)
        └── SmsNumberLimited   the provider's own limit of texts to this number (429)
    """


class SmsNumberRefused(SmsError):
    """The provider says the number is not one it can text (malformed for it, a region it
    does not serve, or a number that opted out of texts)."""


class SmsNumberLimited(SmsError):
    """The provider's limit of texts to this number was reached; try again after
    `retry_after_seconds`."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class SmsSender(Protocol):
    """Texts riders; adapters: the sandbox (the demo shows what it sent on a page),
    Alibaba Cloud SMS and Tencent Cloud SMS (`rental.adapters.aliyun_sms`, `tencent_sms`)."""

    def send_code(self, phone: str, code: str) -> None:
        """Text the sign-in `code` to `phone` (E.164). Raises SmsError (or one of its
        kinds above)."""
        ...


class PictureCleaner(Protocol):
    """Decodes an uploaded image and encodes it again, smaller and without metadata
    (implemented with Pillow in `rental.adapters.pictures`)."""

    def cleaned(self, data: bytes, declared: PhotoType, rules: PhotoRules) -> Picture:
        """The picture re-encoded in the kind it really is, its longer side at most
        `rules.max_side` pixels, with no EXIF, XMP, ICC comment or text chunks. Raises
        InvalidInput: `not_an_image` (not decodable, or decodable as none of PhotoType),
        `photo_too_many_pixels` (more than `rules.max_pixels` before decoding)."""
        ...
