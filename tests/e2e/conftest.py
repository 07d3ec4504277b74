import pytest

from tests.e2e.system import LiveSystem


@pytest.fixture(scope="session")
def live(platform, broker):
    system = LiveSystem(platform, broker)
    system.start()
    yield system
    system.stop()


@pytest.fixture
def system(live, clean_database, broker_accounts):
    yield live
    for lock_id in live.retire_locks():
        broker_accounts.delete_lock_account(lock_id)
