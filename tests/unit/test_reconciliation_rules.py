"""The rule that holds a provider's statement against our records, in memory: each kind
of difference, and nothing listed when both sides agree."""

import uuid
from datetime import UTC, datetime

from rental.domain.payments import OrderState, RefundState
from rental.domain.reconciliation import (
    DifferenceKind,
    OurPayment,
    OurRefund,
    TheirLine,
    differences,
)

AT = datetime(2026, 11, 30, 12, tzinfo=UTC)


def payment(state=OrderState.PAID, amount=1000, trade="T1") -> OurPayment:
    return OurPayment(
        uuid.uuid4(), trade, amount, "CNY", state, AT if state is OrderState.PAID else None
    )


def refund(state=RefundState.SUCCEEDED, amount=300) -> OurRefund:
    return OurRefund(uuid.uuid4(), "T1", amount, "CNY", state, AT)


def line(kind, reference, amount=1000, trade="T1") -> TheirLine:
    return TheirLine(kind, trade, str(reference), amount, "CNY")


def test_agreeing_sides_list_nothing():
    paid, back = payment(), refund()
    lines = [line("payment", paid.id), line("refund", back.id, 300)]
    assert differences(lines, [paid], [back], [paid], [back]) == []


def test_each_payment_difference_is_named():
    expired, pending, other = payment(OrderState.EXPIRED), payment(OrderState.PENDING), payment()
    credited_only_here = payment()
    stranger = uuid.uuid4()
    lines = [
        line("payment", expired.id),
        line("payment", pending.id),
        line("payment", other.id, amount=900),
        line("payment", stranger, trade="T9"),
    ]
    found = differences(lines, [expired, pending, other], [], [other, credited_only_here], [])
    assert {(d.reference, d.kind) for d in found} == {
        (str(expired.id), DifferenceKind.LATE_PAYMENT),
        (str(pending.id), DifferenceKind.OTHER_STATE),
        (str(other.id), DifferenceKind.OTHER_AMOUNT),
        (str(stranger), DifferenceKind.MISSING_HERE),
        (str(credited_only_here.id), DifferenceKind.MISSING_THERE),
    }
    (late,) = [d for d in found if d.kind is DifferenceKind.LATE_PAYMENT]
    assert late.note.startswith("LATE PAYMENT") and (late.ours_minor, late.theirs_minor) == (
        1000,
        1000,
    )


def test_a_payment_found_by_its_trade_when_the_statement_lacks_our_id():
    paid = payment(trade="T5")
    assert differences([line("payment", "", trade="T5")], [paid], [], [paid], []) == []


def test_a_payment_on_another_trade_may_be_a_double_payment():
    paid = payment(trade="T1")
    (found,) = differences([line("payment", paid.id, trade="T2")], [paid], [], [paid], [])
    assert found.kind is DifferenceKind.OTHER_STATE and "twice" in found.note


def test_each_refund_difference_is_named():
    processing, failed, other = refund(RefundState.PROCESSING), refund(RefundState.FAILED), refund()
    refunded_only_here = refund()
    lines = [
        line("refund", processing.id, 300),
        line("refund", failed.id, 300),
        line("refund", other.id, 200),
        line("refund", "re-by-hand", 100),
    ]
    found = differences(lines, [], [processing, failed, other], [], [other, refunded_only_here])
    assert {(d.reference, d.kind) for d in found} == {
        (str(processing.id), DifferenceKind.OTHER_STATE),
        (str(failed.id), DifferenceKind.OTHER_STATE),
        (str(other.id), DifferenceKind.OTHER_AMOUNT),
        ("re-by-hand", DifferenceKind.MISSING_HERE),
        (str(refunded_only_here.id), DifferenceKind.MISSING_THERE),
    }


def test_alipay_and_wechat_pay_statements_cover_a_beijing_day_and_stripe_a_utc_day():
    from datetime import date

    from rental.adapters.alipay_gateway import AlipayGateway
    from rental.adapters.stripe_gateway import StripeGateway
    from rental.adapters.wechatpay_gateway import WechatPayGateway
    from rental.services.reconciliation import statement_window

    day = date(2026, 11, 30)
    beijing = (datetime(2026, 11, 29, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC))
    for provider in (AlipayGateway, WechatPayGateway):
        assert provider.statement_time_zone == "Asia/Shanghai"
        start, end = statement_window(provider, day)  # type: ignore[arg-type]
        assert (start, end) == beijing
    start, _ = statement_window(StripeGateway, day)  # type: ignore[arg-type]
    assert start == datetime(2026, 11, 30, tzinfo=UTC)
