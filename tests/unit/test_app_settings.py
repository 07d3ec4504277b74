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


def test_stripe_is_offered_only_once_configured_and_never_without_its_webhook_secret():
    from rental.adapters.lock_keys import new_key
    from rental.bootstrap import Platform
    from rental.config import Config

    base = Config(
        DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none",  # never connected here
        LOCK_KEY_ENCRYPTION_KEYS=new_key(),
        PUBLIC_BASE_URL="https://ride.example",
    )
    assert "stripe" not in Platform(base).payment_gateways
    base.STRIPE_SECRET_KEY = "sk_test_x"
    with pytest.raises(RuntimeError, match="STRIPE_WEBHOOK_SECRET"):
        Platform(base)
    base.STRIPE_WEBHOOK_SECRET = "whsec_x"
    stripe = Platform(base).payment_gateways["stripe"]
    assert stripe.return_url == "https://ride.example/app/"  # type: ignore[attr-defined]
    assert Platform(base).payment_gateway.name == "sandbox"  # new payments: still the default
