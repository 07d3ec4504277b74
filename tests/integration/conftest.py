import pytest


@pytest.fixture(autouse=True)
def _clean(clean_database):
    yield
