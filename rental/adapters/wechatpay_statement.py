"""WeChat Pay's daily trade bill (`GET /v3/bill/tradebill`, bill_type ALL), read into
statement lines.

The documented CSV: a header line (交易时间,公众账号ID,商户号,...,微信订单号,商户订单号,...,
交易状态,...,货币种类,应结订单金额,...,微信退款单号,商户退款单号,退款金额,...,订单金额,
申请退款金额,...), then one line per movement whose every field starts with a backquote
(so spreadsheets keep numbers as text), then 总交易单数,... and a line of totals. A
payment is 交易状态 SUCCESS, for 订单金额; a refund REFUND, for 申请退款金额, numbered by
商户退款单号 (our refund id). Amounts are yuan; times Beijing time.
"""

import uuid

from rental.adapters.cny import CURRENCY, fen, from_beijing
from rental.services.ports import StatementLine

TIME, TRADE_NO, ORDER_ID, STATE = "交易时间", "微信订单号", "商户订单号", "交易状态"
CURRENCY_COLUMN, ORDER_AMOUNT = "货币种类", "订单金额"
REFUND_ID, REFUND_ASKED, REFUNDED = "商户退款单号", "申请退款金额", "退款金额"
TOTALS_HEADER = "总交易单数"
REQUIRED = (TIME, TRADE_NO, ORDER_ID, STATE, ORDER_AMOUNT, REFUND_ID, REFUNDED)


def statement_lines(text: str) -> list[StatementLine]:
    """The bill's payments and refunds; ValueError when it is not in the documented shape."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("wechat pay bill is empty")
    header = [name.strip() for name in lines[0].split(",")]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ValueError(f"wechat pay bill without columns {missing}")
    found = []
    for line in lines[1:]:
        if line.startswith(TOTALS_HEADER):
            break
        row = dict(zip(header, _fields(line), strict=False))
        movement = _statement_line(row)
        if movement is not None:
            found.append(movement)
    return found


def _fields(line: str) -> list[str]:
    """A bill line's fields: each starts with a backquote, so ",`" separates them even
    when a product name holds a comma."""
    if not line.startswith("`"):
        raise ValueError(f"wechat pay bill line not in its format: {line[:40]!r}")
    return [field.strip() for field in line[1:].split(",`")]


def _statement_line(row: dict[str, str]) -> StatementLine | None:
    at = from_beijing(row[TIME])
    currency = row.get(CURRENCY_COLUMN) or CURRENCY
    if row[STATE] == "SUCCESS":
        return StatementLine(
            "payment", row[TRADE_NO], our_id(row[ORDER_ID]), fen(row[ORDER_AMOUNT]), currency, at
        )
    if row[STATE] == "REFUND":
        asked = row.get(REFUND_ASKED) or row[REFUNDED]
        return StatementLine(
            "refund", row[TRADE_NO], our_id(row[REFUND_ID]), abs(fen(asked)), currency, at
        )
    return None  # REVOKED, CLOSED...: no money moved


def our_id(number: str) -> str:
    """Our order or refund id from WeChat Pay's out_trade_no or out_refund_no: order ids
    go without their dashes (out_trade_no takes 32 characters at most)."""
    try:
        return str(uuid.UUID(number))
    except ValueError:
        return number
