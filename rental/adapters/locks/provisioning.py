"""Lock accounts for API workers that hold no admin rights on the broker.

Mosquitto's dynamic-security plugin takes every command (create a lock's account, but
also read or change the platform's, delete any) on one topic, `$CONTROL/dynamic-security/v1`:
an account allowed to publish there may do anything. So API workers never get that right.
An API worker asks on REQUESTS_TOPIC, `{lock_id, password, answer_to, tag}`; a process
holding the platform's account (lockctl: `LockAccountService`) checks the request and
applies it, then answers on the asker's topic, `{tag, outcome, reason}`. What it applies
is only ever a lock's account (`lock_account_commands`): an id that names any other kind
of account (the platform's, an API's, a lockctl instance's) is refused.

Requests carry the new lock's password: only the platform's account may read that topic
(its share group). Answers carry none.
"""

import json
import logging
import queue
import re
import threading
import uuid
from dataclasses import dataclass

from rental.adapters.locks.broker_accounts import (
    ALREADY_DONE,
    BrokerAccountError,
    BrokerAccounts,
    Json,
    lock_account_commands,
    lock_role,
)
from rental.adapters.locks.mqtt import BrokerAddress, Message, MqttClient, MqttError
from rental.domain.errors import InvalidInput
from rental.domain.fleet import check_lock_id

log = logging.getLogger(__name__)

REQUESTS_TOPIC = "rental/v1/lock-accounts/requests"
ANSWERS_PREFIX = "rental/v1/lock-accounts/answers/"
# One member of the group takes each request; any deployment's lockctl would apply the
# same change (accounts are the broker's, not a deployment's).
SHARE_GROUP = "lock-accounts"
ANSWER_TIMEOUT_SECONDS = 10
# PUBACK "No matching subscribers": no lockctl listens, so nobody will answer.
NO_SUBSCRIBERS = 0x10
# Lock passwords are made by the platform (24 random bytes, ~32 characters).
PASSWORD_LENGTH = (16, 128)
ANSWER_TO = re.compile(rf"^{re.escape(ANSWERS_PREFIX)}[A-Za-z0-9_-]{{1,64}}$")
TAG = re.compile(r"^[0-9a-f]{32}$")


class LockAccountRefused(BrokerAccountError):
    """The request was checked and refused: it was not for a lock's account."""


@dataclass(frozen=True)
class AccountRequest:
    lock_id: str
    password: str
    answer_to: str
    tag: str

    @classmethod
    def parse(cls, payload: bytes) -> "AccountRequest":
        """ValueError naming what is wrong; the lock id is checked as provisioning does."""
        fields = json.loads(payload)
        if not isinstance(fields, dict):
            raise ValueError("not a JSON object")
        lock_id, password = fields.get("lock_id"), fields.get("password")
        answer_to, tag = fields.get("answer_to"), fields.get("tag")
        if not isinstance(answer_to, str) or not ANSWER_TO.match(answer_to):
            raise ValueError(f"answer_to must be a topic under {ANSWERS_PREFIX}")
        if not isinstance(tag, str) or not TAG.match(tag):
            raise ValueError("tag must be 32 lowercase hex digits")
        if not isinstance(lock_id, str):
            raise ValueError("lock_id must be a string")
        try:
            check_lock_id(lock_id)
        except InvalidInput as exc:
            raise ValueError(exc.message) from exc
        if not isinstance(password, str) or not (
            PASSWORD_LENGTH[0] <= len(password) <= PASSWORD_LENGTH[1]
        ):
            raise ValueError(f"password must be {PASSWORD_LENGTH[0]}-{PASSWORD_LENGTH[1]} long")
        return cls(lock_id, password, answer_to, tag)


# -- the API worker's side ---------------------------------------------------------------


class LockAccountRequests:
    """Asks for lock accounts over the API worker's own connection (BrokerAccountsPort).

    Feed the connection's messages to `handle`. `create_lock_account` raises
    LockAccountRefused when the request was refused (not a lock's account), MqttError
    when it could not be applied or nobody answered."""

    def __init__(self, client: MqttClient) -> None:
        self._client = client
        self._answer_to = f"{ANSWERS_PREFIX}{client.client_id}"
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[threading.Event, list[Json]]] = {}
        self._subscribed = False

    def handle(self, message: Message) -> None:
        if message.topic != self._answer_to:
            return
        try:
            answer = json.loads(message.payload)
            waiter = self._pending.pop(str(answer.get("tag")), None)
        except (ValueError, AttributeError):
            return
        if waiter is not None:
            waiter[1].append(answer)
            waiter[0].set()

    def create_lock_account(self, lock_id: str, password: str) -> None:
        self._subscribe()
        tag = uuid.uuid4().hex
        request = {"lock_id": lock_id, "password": password, "answer_to": self._answer_to}
        waiter: tuple[threading.Event, list[Json]] = (threading.Event(), [])
        self._pending[tag] = waiter
        try:
            code = self._client.publish_confirmed(
                REQUESTS_TOPIC, json.dumps({**request, "tag": tag}).encode()
            )
            if code == NO_SUBSCRIBERS:
                raise MqttError("no lockctl takes lock account requests: is lockctl running?")
            if code >= 0x80:
                raise MqttError(f"the broker refused the request ({code:#04x})")
            if not waiter[0].wait(ANSWER_TIMEOUT_SECONDS):
                raise MqttError("no lockctl answered the lock account request in time")
        finally:
            self._pending.pop(tag, None)
        answer = waiter[1][0]
        reason = str(answer.get("reason") or "no reason given")
        if answer.get("outcome") == "refused":
            raise LockAccountRefused(reason)
        if answer.get("outcome") != "created":
            raise BrokerAccountError(reason)

    def _subscribe(self) -> None:
        with self._lock:
            if not self._subscribed:
                [code] = self._client.subscribe([(self._answer_to, 1)])
                if code >= 0x80:
                    raise MqttError(f"the broker refused the answers topic ({code:#04x})")
                self._subscribed = True


# -- the privileged side -----------------------------------------------------------------


class LockAccountService:
    """Applies lock account requests with the platform's account (it has the admin role).

    Requests are applied one at a time on a thread of its own: an account change waits
    for the broker's answer, which arrives on the network thread."""

    def __init__(self, address: BrokerAddress, client_id: str) -> None:
        self._requests: queue.Queue[Message | None] = queue.Queue()
        self._subscribed = threading.Event()
        self._client = MqttClient(
            address,
            client_id,
            on_message=self._route,
            on_connect=self._subscribed.set,  # runs once the SUBACK is in
            subscriptions=[(f"$share/{SHARE_GROUP}/{REQUESTS_TOPIC}", 1)],
        )
        self._accounts = BrokerAccounts(self._client)
        self._worker = threading.Thread(target=self._work, name="lock-accounts", daemon=True)

    def start(self) -> None:
        """Returns once subscribed: from then on requests reach this service."""
        self._client.connect()
        if not self._subscribed.wait(ANSWER_TIMEOUT_SECONDS):
            raise MqttError("the broker did not confirm the lock account requests' subscription")
        self._worker.start()
        log.info("applying lock account requests as %s", self._client.client_id)

    def stop(self) -> None:
        self._requests.put(None)
        self._client.disconnect()
        self._worker.join(timeout=5)

    def _route(self, message: Message) -> None:
        if message.topic == REQUESTS_TOPIC:
            self._requests.put(message)
        else:
            self._accounts.handle(message)

    def _work(self) -> None:
        while (message := self._requests.get()) is not None:
            try:
                self._serve(message)
            except Exception:  # one odd request must not stop provisioning for good
                log.exception("a lock account request failed")

    def _serve(self, message: Message) -> None:
        try:
            request = AccountRequest.parse(message.payload)
        except (ValueError, RecursionError) as exc:
            log.warning("a lock account request was not applied: %s", exc)
            return
        outcome, reason = self.apply(request)
        answer = {"tag": request.tag, "outcome": outcome, "reason": reason}
        try:
            self._client.publish(request.answer_to, json.dumps(answer).encode(), qos=1)
        except MqttError as exc:
            log.warning("could not answer a lock account request: %s", exc)

    def apply(self, request: AccountRequest) -> tuple[str, str | None]:
        """("created", None), or ("refused" | "failed", why)."""
        try:
            [found] = self._accounts.run(
                [{"command": "getClient", "username": request.lock_id}], tolerate=("not found",)
            )
            if not found.get("error") and not _is_lock_account(found, request.lock_id):
                log.warning("refused a lock account over %s's account", request.lock_id)
                return "refused", f"{request.lock_id} is a broker account, not a lock's"
            commands = lock_account_commands(request.lock_id, request.password)
            self._accounts.run(commands, tolerate=ALREADY_DONE)
        except MqttError as exc:
            log.warning("lock account %s not made: %s", request.lock_id, exc)
            return "failed", str(exc)
        log.info("lock account %s made", request.lock_id)
        return "created", None


def _is_lock_account(answer: Json, lock_id: str) -> bool:
    """An account holding only its lock's role and no group (what provisioning makes)."""
    data = answer.get("data")
    client = data.get("client") if isinstance(data, dict) else None
    if not isinstance(client, dict):
        return False
    roles = [role.get("rolename") for role in client.get("roles") or [] if isinstance(role, dict)]
    return roles == [lock_role(lock_id)] and not client.get("groups")
