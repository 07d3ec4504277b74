"""Alipay's and WeChat Pay's daily statements, read from their documented CSV layouts
(the sample files in tests/providers/); anything else is refused, never half read."""

from pathlib import Path

import pytest

from rental.adapters.alipay_statement import detail_lines, statement_lines
from rental.adapters.wechatpay_statement import statement_lines as wechat_lines

SAMPLES = Path(__file__).parent.parent / "providers"
ALIPAY = (SAMPLES / "alipay_detail.csv").read_text(encoding="utf-8")
WECHAT = (SAMPLES / "wechatpay_tradebill.csv").read_text(encoding="utf-8")


def test_alipays_payments_and_refunds_are_read_with_their_own_numbers():
    lines = detail_lines(ALIPAY)
    assert [(x.kind, x.reference, x.amount_minor, x.currency) for x in lines] == [
        ("payment", "ORDER-A", 1234, "CNY"),
        ("refund", "REFUND-A", 500, "CNY"),  # the merchant's -5.00, as an amount paid back
    ]
    assert lines[0].at.utcoffset().total_seconds() == 8 * 3600


def test_an_alipay_bill_without_its_columns_or_not_zipped_is_refused():
    without_amounts = ALIPAY.replace("订单金额", "金额")
    with pytest.raises(ValueError, match="without columns"):
        detail_lines(without_amounts)
    with pytest.raises(ValueError, match="not a zip"):
        statement_lines(ALIPAY.encode("gbk"))


def test_wechat_pays_rows_are_read_up_to_the_totals():
    lines = wechat_lines(WECHAT)
    assert [(x.kind, x.reference, x.amount_minor) for x in lines] == [
        ("payment", "0f8fad5b-d9cb-469f-a165-70867728950e", 1234),
        ("refund", "7c9e6679-7425-40de-944b-e07fc1f90ae7", 500),
    ]


def test_a_product_name_with_a_comma_does_not_shift_wechat_pays_columns():
    assert "`top up, wallet," in WECHAT
    assert [x.amount_minor for x in wechat_lines(WECHAT)] == [1234, 500]


def test_a_wechat_pay_bill_not_in_its_format_is_refused():
    with pytest.raises(ValueError, match="without columns"):
        wechat_lines(WECHAT.replace("商户订单号", "订单号", 1))
    header, row, *_ = WECHAT.splitlines()
    with pytest.raises(ValueError, match="not in its format"):
        wechat_lines(f"{header}\n{row.replace('`', '')}\n")
