"""Settings the API refuses to start without."""

import pytest

from rental.app import create_app


def test_the_api_does_not_start_without_a_secret_key(monkeypatch):
    # A random key per process would make each gunicorn worker refuse the others' tokens.
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app()
