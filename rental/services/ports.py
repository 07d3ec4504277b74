"""Interfaces the use cases need from the outside world, each with a real and a fake adapter."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

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
    trade_no: str
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
class GatewayPayment:
    """What a gateway answers when asked about one of its trades."""

    trade_no: str
    reference: str  # our order id, as we gave it when the order was opened
    amount_minor: int
    currency: str
    paid: bool


class PaymentGateway(Protocol):
    name: str

    def create_order(self, order: PaymentOrder, notify_url: str) -> GatewayOrder: ...

    def request_refund(self, refund: Refund, order: PaymentOrder, notify_url: str) -> None: ...

    def parse_notification(self, headers: dict[str, str], body: bytes) -> Notification | None: ...

    def query_payment(self, trade_no: str) -> GatewayPayment | None:
        """The gateway's own record of trade `trade_no`, None when it never issued it.
        Raises GatewayError when it cannot be asked."""
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
