"""Settings the API refuses to start without."""

import pytest

from rental.app import create_app


def test_the_api_does_not_start_without_a_secret_key(monkeypatch):
    # A random key per process would make each gunicorn worker refuse the others' tokens.
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app()


def test_the_api_does_not_start_without_keys_for_locks_signing_keys(monkeypatch):
    # It could neither store a provisioned lock's key nor read one to sign a command.
    monkeypatch.setenv("SECRET_KEY", "a key")
    monkeypatch.delenv("LOCK_KEY_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(RuntimeError, match="LOCK_KEY_ENCRYPTION_KEYS is not set"):
        create_app()
