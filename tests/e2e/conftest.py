import pytest

from tests.browser import Tab, chromium
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


@pytest.fixture(scope="session")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def tab(browser):
    """A desktop-sized tab; the rider app's tests ask for a phone-sized one."""
    opened = Tab(browser, 1280, 860)
    yield opened
    opened.close()
