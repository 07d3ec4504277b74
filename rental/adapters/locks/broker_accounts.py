"""Broker accounts through Mosquitto's dynamic-security API.

Each lock gets its own username (its lock id), password and role, and the account is
bound to its lock id as MQTT client id: connecting with any other id (another lock's,
a lockctl instance's) is refused before the broker looks for a connection to take over,
so nobody can push someone else off the broker. The role lets a lock read only its own
command and acknowledgement topics and write only its own event, telemetry and status
topics. Each lockctl instance gets an account of the same kind, `lockctl-<instance>`,
with the shared `lockctl` role. Changes apply at once, without restarting the broker.
"""

import enum
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice

from rental.adapters.locks.mqtt import BrokerAddress, Message, MqttClient, MqttError
from rental.adapters.locks.protocol import Channel, LockTopic, subscription

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
# The broker drops bigger messages (mosquitto.conf: message_size_limit), control commands
# included, and would leave us waiting for an answer: longer lists go in several messages.
MAX_CONTROL_PAYLOAD = 4096
ANSWER_TIMEOUT_SECONDS = 10
LOCKCTL_ROLE = "lockctl"
LOCKCTL_PREFIX = "lockctl-"
# Errors that mean "already as asked": createRole/createClient/addRoleACL done before.
ALREADY_DONE = ("already exists",)


# A dynamic-security command, an ACL or an answer, as the broker's JSON has them.
Json = dict[str, object]


class BrokerAccountError(MqttError):
    """The broker refused an account change."""


class Upgrade(enum.Enum):
    """What bringing an existing lock account up to date found."""

    CURRENT = "current"
    UPGRADED = "upgraded"
    MISSING = "missing"  # no such account: the lock cannot connect until provisioned again


def lock_role(lock_id: str) -> str:
    return f"lock-{lock_id}"


def lockctl_username(instance: str) -> str:
    """A lockctl instance's username, which is also the only client id it may use."""
    return f"{LOCKCTL_PREFIX}{instance}"


def lock_acls(lock_id: str) -> list[Json]:
    reads: list[Json] = [
        {"acltype": "subscribeLiteral", "topic": str(LockTopic(lock_id, channel))}
        for channel in (Channel.CMD, Channel.ACK)
    ]
    writes: list[Json] = [
        {"acltype": "publishClientSend", "topic": str(LockTopic(lock_id, channel))}
        for channel in (Channel.EVT, Channel.TELEMETRY, Channel.STATUS)
    ]
    return reads + writes


def lockctl_acls() -> list[Json]:
    # Mosquitto 2.0 checks a shared subscription's whole filter, `$share/<group>/...`,
    # against subscribe ACLs: the group level must be in the pattern.
    reads: list[Json] = [
        {"acltype": "subscribePattern", "topic": f"$share/+/{subscription(channel)}"}
        for channel in (Channel.EVT, Channel.TELEMETRY, Channel.STATUS)
    ]
    receives: list[Json] = [{"acltype": "publishClientReceive", "topic": "lock/v1/#"}]
    # Acknowledgements of stored events only: commands come from the API, never lockctl.
    writes: list[Json] = [{"acltype": "publishClientSend", "topic": subscription(Channel.ACK)}]
    return reads + receives + writes


def _acl_commands(role: str, acls: list[Json]) -> list[Json]:
    return [{"command": "addRoleACL", "rolename": role, "allow": True, **acl} for acl in acls]


def _role_commands(role: str, acls: list[Json]) -> list[Json]:
    return [{"command": "createRole", "rolename": role}, *_acl_commands(role, acls)]


def lock_account_commands(lock_id: str, password: str) -> list[Json]:
    """Idempotent, as lockctl's: the role and account are created if missing, then set to
    exactly this password, client id and role. An account left without its lock row (a
    provisioning whose transaction did not commit, a database restored from before it)
    is taken over by the lock provisioned under its id, which holds that row."""
    role = lock_role(lock_id)
    account = {
        "username": lock_id,
        "clientid": lock_id,
        "password": password,
        "roles": [{"rolename": role}],
    }
    return [
        *_role_commands(role, lock_acls(lock_id)),
        {"command": "createClient", **account},
        {"command": "modifyClient", **account},
    ]


def lockctl_account_commands(username: str, password: str) -> list[Json]:
    """Idempotent: the role and account are created if missing, and the account then set
    to exactly this password, client id and role (which drops a connection it still has)."""
    account = {
        "username": username,
        "clientid": username,
        "password": password,
        "roles": [{"rolename": LOCKCTL_ROLE}],
    }
    return [
        *_role_commands(LOCKCTL_ROLE, lockctl_acls()),
        {"command": "createClient", **account},
        {"command": "modifyClient", **account},
    ]


class BrokerAccounts:
    """Sends dynamic-security commands and waits for the broker's answers."""

    def __init__(self, client: MqttClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[threading.Event, list[Json]]] = {}
        self._subscribed = False

    def handle(self, message: Message) -> None:
        """Feed messages from RESPONSE_TOPIC here (the client's message handler)."""
        if message.topic != RESPONSE_TOPIC:
            return
        responses = json.loads(message.payload).get("responses", [])
        tag = next((r.get("correlationData") for r in responses if r.get("correlationData")), None)
        waiter = self._pending.pop(tag, None) if tag else None
        if waiter is not None:
            waiter[1].extend(responses)
            waiter[0].set()

    def create_lock_account(self, lock_id: str, password: str) -> None:
        if lock_id.startswith(LOCKCTL_PREFIX):
            # Its client id would be a lockctl instance's: it could push lockctl off.
            raise BrokerAccountError(f"lock ids starting with {LOCKCTL_PREFIX!r} are reserved")
        self.run(lock_account_commands(lock_id, password), tolerate=ALREADY_DONE)

    def upgrade_lock_accounts(self, lock_ids: list[str]) -> dict[str, Upgrade]:
        """Bring accounts provisioned by older versions up to date: the client id binding
        and every ACL of `lock_acls` (the acknowledgement topic came with protocol 1.1).
        A lock already up to date is left alone; one that changes is disconnected once
        by the broker and reconnects under the new rules."""
        answers = self.run(
            [{"command": "getClient", "username": lock_id} for lock_id in lock_ids],
            tolerate=("not found",),
        )
        outcome = {lock_id: Upgrade.MISSING for lock_id in lock_ids}
        fixes: list[tuple[str, list[Json]]] = []
        for lock_id, answer in zip(lock_ids, answers, strict=True):
            if answer.get("error"):
                continue
            commands = _acl_commands(lock_role(lock_id), lock_acls(lock_id))
            if _client_data(answer).get("clientid") != lock_id:
                bind: Json = {"command": "setClientId", "username": lock_id, "clientid": lock_id}
                commands.append(bind)
            fixes.append((lock_id, commands))
        results = iter(self.run([c for _, commands in fixes for c in commands], ALREADY_DONE))
        for lock_id, commands in fixes:
            changed = [not answer.get("error") for answer in islice(results, len(commands))]
            outcome[lock_id] = Upgrade.UPGRADED if any(changed) else Upgrade.CURRENT
        return outcome

    def ensure_lockctl_account(self, username: str, password: str) -> None:
        self.run(lockctl_account_commands(username, password), tolerate=ALREADY_DONE)

    def delete_lockctl_account(self, username: str) -> None:
        self.run([{"command": "deleteClient", "username": username}], tolerate=("not found",))

    def delete_lock_account(self, lock_id: str) -> None:
        """Decommission: the account goes, and so does the lock's retained status, which
        the broker would otherwise hand to every lockctl that subscribes, forever."""
        self.run(
            [
                {"command": "deleteClient", "username": lock_id},
                {"command": "deleteRole", "rolename": lock_role(lock_id)},
            ],
            tolerate=("not found",),
        )
        self._client.publish(str(LockTopic(lock_id, Channel.STATUS)), b"", qos=1, retain=True)

    def run(self, commands: list[Json], tolerate: tuple[str, ...] = ()) -> list[Json]:
        """Runs dynamic-security commands in order; returns the broker's answer to each.
        An answer with an error ending in one of `tolerate` is returned; any other error
        raises. Long lists go in several messages, each waited for in turn."""
        with self._lock:
            if not self._subscribed:
                self._client.subscribe([(RESPONSE_TOPIC, 1)])
                self._subscribed = True
        answers = [answer for batch in _batches(commands) for answer in self._send(batch)]
        errors = [
            f"{answer.get('command')}: {answer['error']}"
            for answer in answers
            if _refused(answer, tolerate)
        ]
        if errors:
            raise BrokerAccountError("; ".join(errors))
        return answers

    def _send(self, commands: list[Json]) -> list[Json]:
        tag = uuid.uuid4().hex
        payload = _control_payload(commands, tag)
        waiter: tuple[threading.Event, list[Json]] = (threading.Event(), [])
        self._pending[tag] = waiter
        self._client.publish(CONTROL_TOPIC, payload, qos=1)
        if not waiter[0].wait(ANSWER_TIMEOUT_SECONDS):
            self._pending.pop(tag, None)
            raise BrokerAccountError("broker did not answer the account change")
        if len(waiter[1]) != len(commands):
            raise BrokerAccountError(f"{len(commands)} commands, {len(waiter[1])} answers")
        return waiter[1]


@contextmanager
def managing_accounts(address: BrokerAddress) -> Iterator[BrokerAccounts]:
    """A connection of its own to change accounts with (the address's account must be
    allowed to: the platform's is), closed when done."""
    accounts: list[BrokerAccounts] = []
    client = MqttClient(address, on_message=lambda message: accounts[0].handle(message))
    accounts.append(BrokerAccounts(client))
    client.connect()
    try:
        yield accounts[0]
    finally:
        client.disconnect()


def _control_payload(commands: list[Json], tag: str) -> bytes:
    tagged = [{**command, "correlationData": tag} for command in commands]
    return json.dumps({"commands": tagged}).encode()


def _batches(commands: list[Json]) -> list[list[Json]]:
    """Consecutive runs of commands whose message stays within MAX_CONTROL_PAYLOAD."""
    envelope = len(_control_payload([], uuid.uuid4().hex))
    batches: list[list[Json]] = []
    size = MAX_CONTROL_PAYLOAD
    for command in commands:
        # Each tagged command, and the ", " that joins it to the one before.
        length = len(_control_payload([command], uuid.uuid4().hex)) - envelope + 2
        if envelope + length > MAX_CONTROL_PAYLOAD:
            raise BrokerAccountError(f"a {command.get('command')} command is too large")
        if size + length > MAX_CONTROL_PAYLOAD:
            batches.append([])
            size = envelope
        batches[-1].append(command)
        size += length
    return batches


def _refused(answer: Json, tolerate: tuple[str, ...]) -> bool:
    error = answer.get("error")
    return bool(error) and not str(error).endswith(tolerate)


def _client_data(answer: Json) -> Json:
    data = answer.get("data")
    client = data.get("client") if isinstance(data, dict) else None
    return client if isinstance(client, dict) else {}
