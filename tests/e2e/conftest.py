import pytest
from playwright.sync_api import sync_playwright

from tests.browser import Tab, launch
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
def driver():
    """Playwright's driver: one per session (it may not be started twice in a thread)."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(driver):
    browser = launch(driver)
    yield browser
    browser.close()


@pytest.fixture
def tab(browser):
    """A desktop-sized tab, for the operator console."""
    opened = Tab(browser, 1280, 860)
    yield opened
    opened.close()


@pytest.fixture
def phone(browser):
    """A small phone's screen (360 x 740 CSS pixels, touch), in English."""
    opened = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale="en-US")
    yield opened
    opened.close()
