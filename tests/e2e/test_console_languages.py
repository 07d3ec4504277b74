"""The operator console in Simplified Chinese: chosen in the bar, kept for the next visit
(the choice the rider app keeps too), every page's words from the console's messages."""

from playwright.sync_api import expect

from tests.e2e.test_operator_console import open_console
from tests.helpers import CITY, make_city


def test_an_operator_reads_the_console_in_chinese_and_it_stays_chosen(system, tab):
    make_city(system.platform)
    system.bike()
    page = open_console(system, tab, f"fleet?city={CITY}")
    expect(page.locator("[data-count=available]")).to_have_text("Available: 1")

    page.select_option("#language", "zh-CN")

    expect(page.locator("#main h1")).to_have_text("车队")
    expect(page.locator("[data-count=available]")).to_have_text("可用：1")  # noqa: RUF001
    assert page.inner_text("#nav a[href='#/rebalancing']") == "调度"
    assert page.inner_text("#sign-out") == "退出登录"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.evaluate("document.title") == "运营控制台"
    tab.screenshot("ops-fleet-zh")

    page.click("#nav a[href='#/books']")
    expect(page.locator("#books-state")).to_contain_text("平衡")
    page.reload()
    page.wait_for_selector("#main[data-ready=books]")
    expect(page.locator("#main h1")).to_have_text("账簿")

    page.select_option("#language", "en")
    expect(page.locator("#main h1")).to_have_text("Books")
    assert tab.problems == []
