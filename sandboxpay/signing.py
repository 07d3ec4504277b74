"""Signatures on every message between merchant and gateway, both ways.

signature = hex HMAC-SHA256(secret, "<timestamp>." + body), sent with the timestamp
in headers, as Stripe does; a receiver refuses stale timestamps so that a captured
message cannot be replayed later.
"""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "Sandbox-Timestamp"
SIGNATURE_HEADER = "Sandbox-Signature"
MAX_AGE_SECONDS = 300


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def is_authentic(secret: bytes, timestamp: str | None, sig: str | None, body: bytes) -> bool:
    if not timestamp or not sig or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), sig)
