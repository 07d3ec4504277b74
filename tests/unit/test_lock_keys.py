"""Locks' signing keys sealed at rest: what the ring stores, opens, rotates and refuses."""

import secrets

import pytest
from cryptography.fernet import MultiFernet

from rental.adapters.lock_keys import LockKeyError, LockKeyRing, is_sealed, new_key


def test_the_sealed_form_is_not_the_key_and_opens_to_it():
    ring = LockKeyRing([new_key()])
    key = secrets.token_bytes(32)
    sealed = ring.seal(key)
    assert is_sealed(sealed)
    assert key not in sealed and key.hex().encode() not in sealed
    assert ring.open("L1", sealed) == key
    assert ring.seal(key) != sealed  # a fresh IV each time: equal keys do not show


def test_rotation_seals_under_the_newest_key_which_then_opens_it_alone():
    old, new = new_key(), new_key()
    key = secrets.token_bytes(32)
    sealed_before = LockKeyRing([old]).seal(key)

    resealed = LockKeyRing([new, old]).reseal("L1", sealed_before)

    assert LockKeyRing([new]).open("L1", resealed) == key
    with pytest.raises(LockKeyError, match=r"no key of LOCK_KEY_ENCRYPTION_KEYS opens .* L1"):
        LockKeyRing([old]).open("L1", resealed)


def test_a_raw_key_from_before_sealing_is_refused_when_read_and_sealed_when_rotated():
    ring = LockKeyRing([new_key()])
    raw = secrets.token_bytes(32)
    with pytest.raises(LockKeyError, match=r"lock L1 is stored unsealed.*rotate-lock-keys"):
        ring.open("L1", raw)
    assert ring.open("L1", ring.reseal("L1", raw)) == raw


def test_a_key_sealed_with_a_key_no_longer_listed_is_a_clear_error():
    sealed = LockKeyRing([new_key()]).seal(b"k" * 32)
    with pytest.raises(LockKeyError) as error:
        LockKeyRing([new_key()]).open("DEMO-L0001", sealed)
    assert error.value.code == "lock_keys_unavailable"
    assert "DEMO-L0001" in error.value.message


def test_without_keys_nothing_is_sealed_or_opened():
    ring = LockKeyRing.from_setting(" , ")
    assert not ring.configured
    with pytest.raises(LockKeyError, match="LOCK_KEY_ENCRYPTION_KEYS is not set"):
        ring.seal(b"k" * 32)


def test_a_setting_that_is_no_fernet_key_is_refused_naming_which():
    with pytest.raises(ValueError, match="key 2 is not a Fernet key"):
        LockKeyRing.from_setting(f"{new_key()}, not-a-key")


def test_a_key_is_decrypted_once_per_sealed_form_and_a_tampered_one_never_opens(monkeypatch):
    ring = LockKeyRing([new_key()])
    key = secrets.token_bytes(32)
    sealed = ring.seal(key)
    decryptions = []
    decrypt = MultiFernet.decrypt

    def counted(self: MultiFernet, token: bytes) -> bytes:
        decryptions.append(token)
        return decrypt(self, token)

    monkeypatch.setattr(MultiFernet, "decrypt", counted)
    assert [ring.open("L1", sealed) for _ in range(3)] == [key] * 3
    assert decryptions == [sealed]
    tampered = sealed[:-8] + (b"A" * 8 if not sealed.endswith(b"A" * 8) else b"B" * 8)
    for _ in range(2):
        with pytest.raises(LockKeyError):
            ring.open("L1", tampered)
    assert decryptions == [sealed, tampered, tampered]  # a refusal is never remembered
