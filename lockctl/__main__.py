"""`python -m lockctl`: consume lock reports until interrupted."""

import logging
import os
import secrets
import signal
import socket
import threading
from datetime import timedelta

from lockctl.broker_accounts import lockctl_username, managing_accounts
from lockctl.consumer import LockController
from lockctl.mqtt import BrokerAddress
from rental.bootstrap import Platform, utc_now
from rental.config import Config

log = logging.getLogger("lockctl")


def own_account(platform: BrokerAddress, instance: str) -> BrokerAddress:
    """The instance's own broker account, bound to its client id, made or renewed through
    the platform's account with a password fresh for this run. Nothing else can connect
    under lockctl's client id and push it off the broker (locks' accounts are bound to
    their own ids), and a leaked password is good until the next start only."""
    username = lockctl_username(instance)
    password = secrets.token_urlsafe(24)
    with managing_accounts(platform) as accounts:
        accounts.ensure_lockctl_account(username, password)
    log.info("broker account %s renewed", username)
    return platform.with_credentials(username, password)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s lockctl %(levelname)s %(message)s")
    config = Config.from_environment()
    platform = Platform(config)
    # A stable id per instance: its broker account (and client id) is `lockctl-<instance>`.
    instance = os.environ.get("LOCKCTL_INSTANCE", socket.gethostname())
    # One share group per deployment: the broker splits reports among its members, so never
    # mix deployments (say, staging and production) in one group.
    group = os.environ.get("LOCKCTL_SHARE_GROUP", "lockctl")
    # Clean sessions by default: locks resend every event until it is acknowledged (protocol
    # 1.1), so a broker session that queues for a dead instance only delays them.
    persistent = os.environ.get("LOCKCTL_PERSISTENT_SESSION", "0") != "0"
    controller = LockController(
        own_account(BrokerAddress.from_url(config.MQTT_URL), instance),
        platform.uow,
        utc_now,
        lockctl_username(instance),
        persistent_session=persistent,
        share_group=group,
        wallet_floor_minor=config.WALLET_FLOOR_MINOR,
        low_battery_pct=config.LOW_BATTERY_PCT,
        lock_log_retention=timedelta(days=config.LOCK_LOG_RETENTION_DAYS),
    )
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
