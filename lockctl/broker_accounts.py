"""Per-lock broker accounts through Mosquitto's dynamic-security API.

Each lock gets its own username (its lock id), password and role; the role lets it
read only its own command topic and write only its own event, telemetry and
status topics. Changes apply at once, without restarting the broker.
"""

import json
import threading
import uuid

from lockctl.mqtt import Message, MqttClient, MqttError
from lockctl.protocol import Channel, LockTopic

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"


class BrokerAccountError(MqttError):
    """The broker refused an account change."""


def lock_role(lock_id: str) -> str:
    return f"lock-{lock_id}"


def lock_account_commands(lock_id: str, password: str) -> list[dict[str, object]]:
    role = lock_role(lock_id)
    acls: list[dict[str, object]] = [
        {"acltype": "subscribeLiteral", "topic": str(LockTopic(lock_id, Channel.CMD))}
    ]
    acls += [
        {"acltype": "publishClientSend", "topic": str(LockTopic(lock_id, channel))}
        for channel in (Channel.EVT, Channel.TELEMETRY, Channel.STATUS)
    ]
    return [
        {"command": "createRole", "rolename": role},
        *({"command": "addRoleACL", "rolename": role, "allow": True, **acl} for acl in acls),
        {
            "command": "createClient",
            "username": lock_id,
            "password": password,
            "roles": [{"rolename": role}],
        },
    ]


class BrokerAccounts:
    """Sends dynamic-security commands and waits for the broker's answers."""

    def __init__(self, client: MqttClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[threading.Event, list[dict[str, object]]]] = {}
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
        self._run(lock_account_commands(lock_id, password))

    def delete_lock_account(self, lock_id: str) -> None:
        """Decommission: the account goes, and so does the lock's retained status, which
        the broker would otherwise hand to every lockctl that subscribes, forever."""
        self._run(
            [
                {"command": "deleteClient", "username": lock_id},
                {"command": "deleteRole", "rolename": lock_role(lock_id)},
            ]
        )
        self._client.publish(str(LockTopic(lock_id, Channel.STATUS)), b"", qos=1, retain=True)

    def _run(self, commands: list[dict[str, object]]) -> None:
        with self._lock:
            if not self._subscribed:
                self._client.subscribe([(RESPONSE_TOPIC, 1)])
                self._subscribed = True
        tag = uuid.uuid4().hex
        tagged = [{**command, "correlationData": tag} for command in commands]
        waiter: tuple[threading.Event, list[dict[str, object]]] = (threading.Event(), [])
        self._pending[tag] = waiter
        self._client.publish(CONTROL_TOPIC, json.dumps({"commands": tagged}).encode(), qos=1)
        if not waiter[0].wait(10):
            self._pending.pop(tag, None)
            raise BrokerAccountError("broker did not answer the account change")
        errors = [
            f"{r.get('command')}: {r['error']}"
            for r in waiter[1]
            if r.get("error") and not str(r["error"]).endswith("not found")
        ]
        if errors:
            raise BrokerAccountError("; ".join(errors))
