import pytest

from tests.e2e.system import LiveSystem


@pytest.fixture(scope="module")
def live(platform, broker):
    # Per module, so its lockctl (and the sweeper failing stale unlocks) is gone before the
    # integration tests, which drive lock reports by hand, start.
    system = LiveSystem(platform, broker)
    system.start()
    yield system
    system.stop()


@pytest.fixture
def system(live, clean_database, broker_accounts):
    yield live
    for lock_id in live.retire_locks():
        broker_accounts.delete_lock_account(lock_id)
