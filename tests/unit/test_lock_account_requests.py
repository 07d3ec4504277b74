"""What lockctl accepts as a request for a lock account (rental.adapters.locks.provisioning):
a lock's id, a password, and an answer topic under the answers' prefix, nothing else."""

import json
import uuid

import pytest

from rental.adapters.locks.provisioning import ANSWERS_PREFIX, AccountRequest

GOOD = {
    "lock_id": "DEMO-L0001",
    "password": "p" * 32,
    "answer_to": f"{ANSWERS_PREFIX}rental-api-0123456789",
    "tag": uuid.uuid4().hex,
}


def request(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def test_a_request_for_a_locks_account_is_read():
    parsed = AccountRequest.parse(request())
    assert (parsed.lock_id, parsed.answer_to) == ("DEMO-L0001", GOOD["answer_to"])


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"answer_to": "lock/v1/DEMO-L0001/cmd"}, "answer_to"),
        ({"answer_to": "$CONTROL/dynamic-security/v1"}, "answer_to"),
        ({"answer_to": f"{ANSWERS_PREFIX}+"}, "answer_to"),
        ({"answer_to": f"{ANSWERS_PREFIX}a/b"}, "answer_to"),
        ({"lock_id": "platform"}, "reserved"),
        ({"lock_id": "api"}, "reserved"),
        ({"lock_id": "admin"}, "reserved"),
        ({"lock_id": "lockctl-a"}, "reserved"),
        ({"lock_id": "lock/v1/#"}, "lock_id"),
        ({"lock_id": 7}, "lock_id"),
        ({"password": "short"}, "password"),
        ({"tag": "not hex"}, "tag"),
    ],
)
def test_a_request_for_anything_else_is_refused(changes, complaint):
    with pytest.raises(ValueError, match=complaint):
        AccountRequest.parse(request(**changes))


def test_a_request_that_is_no_json_object_is_refused():
    with pytest.raises(ValueError):
        AccountRequest.parse(b"[1, 2]")
    with pytest.raises(ValueError):
        AccountRequest.parse(b"\xff")
