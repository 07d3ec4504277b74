"""One-time sign-in codes sent by SMS, the way sharing apps sign riders in.

A code is 6 digits, good for 5 minutes and for 5 tries; asking again replaces it. Only a
keyed hash is kept (HMAC-SHA256 with the platform's secret): a 6-digit code has a
million values, so a plain hash in a leaked table would be reversed at once, while the
key stays outside the database. Codes are compared in constant time.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

CODE_DIGITS = 6
CODE_VALID_FOR = timedelta(minutes=5)
CODE_TRIES = 5


@dataclass
class PhoneCode:
    phone: str  # E.164
    code_hash: bytes
    expires_at: datetime
    tries_left: int = CODE_TRIES


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: bytes, phone: str, code: str) -> bytes:
    """Keyed by the platform's secret and bound to the phone: a hash is good for one
    number only."""
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).digest()


def issued(key: bytes, phone: str, code: str, now: datetime) -> PhoneCode:
    return PhoneCode(phone, code_hash(key, phone, code), now + CODE_VALID_FOR)


def try_code(stored: PhoneCode, key: bytes, code: str, now: datetime) -> bool:
    """Spend one try; True when `code` is the one sent and still good."""
    if stored.tries_left <= 0 or now >= stored.expires_at:
        return False
    stored.tries_left -= 1
    return hmac.compare_digest(stored.code_hash, code_hash(key, stored.phone, code))
