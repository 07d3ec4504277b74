"""The composition root: builds every adapter once and hands them to the use cases."""

import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import has_request_context, request
from sqlalchemy import Engine

from rental.adapters.cloud_sms import CloudSmsSettings
from rental.adapters.db import UnitOfWork, make_engine
from rental.adapters.lock_keys import LockKeyRing
from rental.adapters.locks.broker_accounts import BrokerAccounts
from rental.adapters.locks.commands import MqttLockCommands
from rental.adapters.locks.lock_broker import LockBroker
from rental.adapters.locks.mqtt import BrokerAddress, Message, MqttClient, MqttError
from rental.adapters.locks.provisioning import LockAccountRefused, LockAccountRequests
from rental.adapters.locks.reports import WireReportDecoder
from rental.adapters.notifications import StateChangeListener
from rental.adapters.passwords import WerkzeugPasswords
from rental.adapters.pictures import PillowPictureCleaner
from rental.adapters.reconciliation import SqlReconciliationRecords
from rental.adapters.routing import OsrmRouting
from rental.adapters.sandbox_gateway import SandboxGateway
from rental.adapters.sandbox_sms import NoSms, SandboxSms
from rental.adapters.stripe_gateway import StripeGateway
from rental.api.gbfs_feeds import FeedCopies
from rental.config import Config
from rental.domain.errors import InvalidInput, Unavailable
from rental.services.lock_reports import ReportDecoder
from rental.services.ports import (
    BrokerAccountsPort,
    LockCommands,
    PasswordHasher,
    PaymentGateway,
    PictureCleaner,
    SmsSender,
)
from rental.services.settlement import RENTAL_STATE_CHANNEL
from rental.services.unmet_counter import UnmetSearchCounter

if TYPE_CHECKING:  # the rebalancing's use cases load the solver: only when a run starts
    from rental.services.rebalancing_runs import RoutingService


def utc_now() -> datetime:
    return datetime.now(UTC)


def libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("+psycopg", "", 1)


class Platform:
    """Everything a request handler needs; nothing connects until first used.

    Settings that name files or keys (the locks' broker and CA, the lock key ring) are read
    here, so a wrong one stops the process at start with a message naming it."""

    def __init__(
        self,
        config: Config,
        *,
        lock_commands: LockCommands | None = None,
        broker_accounts: BrokerAccountsPort | None = None,
        payment_gateway: PaymentGateway | None = None,
        routing: "RoutingService | None" = None,
        passwords: PasswordHasher | None = None,
        sms: SmsSender | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not config.DATABASE_URL:
            raise RuntimeError("DATABASE_URL is not set (make demo / make test set it for you)")
        self.config = replace(config)  # its own copy: the caller's object may change or be shared
        self.now = clock
        self.lock_keys = LockKeyRing.from_setting(config.LOCK_KEY_ENCRYPTION_KEYS)
        self.lock_broker = LockBroker.from_settings(
            config.LOCK_BROKER_URL, config.LOCK_BROKER_CA_FILE
        )
        self.engine = make_engine(config.DATABASE_URL, config.DB_POOL_SIZE)
        # Hot reads of one statement: planned once per connection.
        self.search_engine = make_engine(
            config.DATABASE_URL, config.DB_POOL_SIZE, generic_plans=True
        )
        # Reads that may lag go to the replica when there is one, else to the primary.
        self.lagging_engine, self.lagging_search_engine = self.engine, self.search_engine
        if config.READ_DATABASE_URL:
            self.lagging_engine = make_engine(config.READ_DATABASE_URL, config.DB_POOL_SIZE)
            self.lagging_search_engine = make_engine(
                config.READ_DATABASE_URL, config.DB_POOL_SIZE, generic_plans=True
            )
        self.rental_changes = StateChangeListener(
            libpq_url(config.DATABASE_URL), RENTAL_STATE_CHANNEL
        )
        self.vehicle_status_copies = FeedCopies()
        # Nearby searches that found nothing, counted off the rider's request.
        self.unmet_searches = UnmetSearchCounter(self.uow)
        self._mqtt: MqttClient | None = None
        self._mqtt_lock = threading.Lock()
        self._accounts: BrokerAccounts | None = None
        self._account_requests: LockAccountRequests | None = None
        self.lock_commands: LockCommands = lock_commands or MqttLockCommands(self.mqtt)
        self.report_decoder: ReportDecoder = WireReportDecoder()
        self.broker_accounts = broker_accounts or _LazyBrokerAccounts(self)
        # Every gateway the platform has taken money through, by name; new payments go
        # through `payment_gateway`.
        self.payment_gateways: dict[str, PaymentGateway] = {}
        self.payment_gateways.update(_china_gateways(config))
        self.payment_gateway = payment_gateway or SandboxGateway(
            config.PAYMENT_GATEWAY_URL, config.PAYMENT_GATEWAY_SECRET.encode()
        )
        if config.STRIPE_SECRET_KEY:
            self.payment_gateways["stripe"] = _stripe_gateway(config)
        self.reconciliation = SqlReconciliationRecords(self.engine)
        self.routing: RoutingService = routing or OsrmRouting()
        self.passwords: PasswordHasher = passwords or WerkzeugPasswords()
        self.pictures: PictureCleaner = PillowPictureCleaner()
        self.sms: SmsSender = sms or _sms_provider(config, self.engine)

    @property
    def payment_gateway(self) -> PaymentGateway:
        """The gateway new payments go through."""
        return self.payment_gateways[self._new_payments_gateway]

    @payment_gateway.setter
    def payment_gateway(self, gateway: PaymentGateway) -> None:
        self.payment_gateways[gateway.name] = gateway
        self._new_payments_gateway = gateway.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, lock_keys=self.lock_keys)

    def reader(self) -> UnitOfWork:
        """For hot reads of one statement (a rental being watched, the session of each
        request): no transaction, and a plan made once per connection. Its conditions are
        written so that a generic plan still uses the partial indexes (see
        `rental.adapters.tables`)."""
        return UnitOfWork(self.search_engine, autocommit=True, lock_keys=self.lock_keys)

    def lagging_reader(self) -> UnitOfWork:
        """`reader()` for reads that may lag (nearby vehicles, the small GBFS feeds): from
        the replica of READ_DATABASE_URL when there is one."""
        return UnitOfWork(self.lagging_search_engine, autocommit=True, lock_keys=self.lock_keys)

    def lagging_uow(self) -> UnitOfWork:
        """Read-only transactions that may lag (GBFS vehicle_status, MDS, operators'
        lists): on the replica of READ_DATABASE_URL when there is one. Never for what
        decides a write or who may do what: a replica is behind by its replay delay."""
        return UnitOfWork(self.lagging_engine, read_only=True, lock_keys=self.lock_keys)

    def dispose(self) -> None:
        """Closes every pool's connections."""
        engines = (self.engine, self.search_engine, self.lagging_engine, self.lagging_search_engine)
        for engine in set(engines):
            engine.dispose()

    def mqtt(self) -> MqttClient:
        with self._mqtt_lock:
            if self._mqtt is None:
                if not self.config.MQTT_URL:
                    raise MqttError("MQTT_URL is not set")
                client = MqttClient(
                    BrokerAddress.from_settings(self.config.MQTT_URL, self.config.MQTT_CA_FILE),
                    f"rental-api-{uuid.uuid4().hex[:10]}",
                    on_message=self._handle_message,
                )
                client.connect()
                self._mqtt = client
            return self._mqtt

    def _handle_message(self, message: Message) -> None:
        for handler in (self._accounts, self._account_requests):
            if handler is not None:
                handler.handle(message)

    def accounts(self) -> BrokerAccounts:
        """The dynamic-security API itself: only for processes whose MQTT_URL is the
        platform's account (the CLI, the demo's seeding). API workers ask lockctl instead
        (`broker_accounts`)."""
        client = self.mqtt()
        with self._mqtt_lock:
            if self._accounts is None:
                self._accounts = BrokerAccounts(client)
            return self._accounts

    def lock_account_requests(self) -> LockAccountRequests:
        client = self.mqtt()
        with self._mqtt_lock:
            if self._account_requests is None:
                self._account_requests = LockAccountRequests(client)
            return self._account_requests


def _china_gateways(config: Config) -> dict[str, PaymentGateway]:
    """Alipay and WeChat Pay, each once configured (docs/payments.md)."""
    # Imported only when configured: every process (API workers, lockctl, the command
    # line) would otherwise load both SDKs and their cryptography at start.
    gateways: dict[str, PaymentGateway] = {}
    if config.ALIPAY_APP_ID:
        from rental.adapters.alipay_gateway import AlipayGateway

        gateways["alipay"] = AlipayGateway.from_settings(
            config.ALIPAY_APP_ID,
            config.ALIPAY_APP_PRIVATE_KEY,
            config.ALIPAY_PUBLIC_KEY,
            config.ALIPAY_GATEWAY_URL,
        )
    if config.WECHATPAY_MERCHANT_ID:
        from rental.adapters.wechatpay_gateway import WechatPayGateway

        gateways["wechatpay"] = WechatPayGateway.from_settings(
            merchant_id=config.WECHATPAY_MERCHANT_ID,
            app_id=config.WECHATPAY_APP_ID,
            private_key=config.WECHATPAY_PRIVATE_KEY,
            certificate_serial=config.WECHATPAY_CERTIFICATE_SERIAL,
            apiv3_key=config.WECHATPAY_APIV3_KEY,
            api_url=config.WECHATPAY_API_URL,
            certificate_dir=config.WECHATPAY_CERTIFICATE_DIR,
            public_key=config.WECHATPAY_PUBLIC_KEY,
            public_key_id=config.WECHATPAY_PUBLIC_KEY_ID,
            payer_address=_rider_address,
        )
    return gateways


def _rider_address() -> str:
    """The address of the rider whose request is served (WeChat Pay's H5 pay checks the
    rider pays from it); the host's own outside a request."""
    if has_request_context() and request.remote_addr:
        return request.remote_addr
    return "127.0.0.1"


class _LazyBrokerAccounts:
    """Asks lockctl for lock accounts (rental.adapters.locks.provisioning), connecting to
    the broker on the first provisioning, and says so when it cannot."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    def create_lock_account(self, lock_id: str, password: str) -> None:
        try:
            self._platform.lock_account_requests().create_lock_account(lock_id, password)
        except LockAccountRefused as exc:
            raise InvalidInput(
                f"lock_id {lock_id!r} is reserved: {exc}", "reserved_lock_id", "lock_id"
            ) from exc
        except MqttError as exc:
            raise Unavailable(
                f"the broker refused the lock account: {exc}", "broker_unavailable"
            ) from exc


# The cloud SMS providers by SMS_PROVIDER's name for them.
CLOUD_SMS = ("aliyun", "tencent")


def _sms_provider(config: Config, engine: Engine) -> SmsSender:
    if config.SMS_PROVIDER == "sandbox":
        return SandboxSms(engine)
    if not config.SMS_PROVIDER:
        return NoSms()
    if config.SMS_PROVIDER not in CLOUD_SMS:
        known = ", ".join(["sandbox", *CLOUD_SMS])
        raise RuntimeError(f"SMS_PROVIDER {config.SMS_PROVIDER!r} is not known ({known})")
    settings = CloudSmsSettings(
        config.SMS_KEY_ID,
        config.SMS_KEY_SECRET,
        config.SMS_SIGN_NAME,
        config.SMS_TEMPLATE_ID,
        app_id=config.SMS_APP_ID,
        region=config.SMS_REGION,
        endpoint=config.SMS_ENDPOINT,
    )
    required = ["key_id", "key_secret", "sign_name", "template_id"]
    missing = settings.missing(*required, *(["app_id"] if config.SMS_PROVIDER == "tencent" else []))
    if missing:
        names = ", ".join(f"SMS_{name.upper()}" for name in missing)
        raise RuntimeError(f"SMS_PROVIDER {config.SMS_PROVIDER} needs {names}")
    return _cloud_sms(config.SMS_PROVIDER, settings)


def _cloud_sms(provider: str, settings: CloudSmsSettings) -> SmsSender:
    # Imported only when chosen: Alibaba's SDK alone takes about a second to import, which
    # every process (API workers, lockctl, the command line) would pay otherwise.
    if provider == "aliyun":
        from rental.adapters.aliyun_sms import AliyunSms

        return AliyunSms(settings)
    from rental.adapters.tencent_sms import TencentSms

    return TencentSms(settings)


def _stripe_gateway(config: Config) -> StripeGateway:
    if not config.STRIPE_WEBHOOK_SECRET:
        raise RuntimeError("STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not")
    return StripeGateway(
        api_key=config.STRIPE_SECRET_KEY,
        webhook_secret=config.STRIPE_WEBHOOK_SECRET,
        return_url=config.STRIPE_RETURN_URL or f"{config.PUBLIC_BASE_URL.rstrip('/')}/app/",
        api_base=config.STRIPE_API_BASE,
        files_base=config.STRIPE_FILES_BASE,
    )
