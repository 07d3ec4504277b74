"""Alipay's daily trade bill, read into statement lines.

`alipay.data.dataservice.bill.downloadurl.query` (bill_type `trade`) hands a URL of a zip
holding two GBK CSV files: `<pid>_<date>_业务明细.csv`, one line per payment or refund,
and `..._业务明细(汇总).csv`, the totals. The detail file opens and closes with lines
starting with `#` (the account, the period, the totals); between them a header names the
columns, and fields may carry trailing tabs (Alipay's way of keeping numbers as text in
spreadsheets). Amounts are yuan; times Beijing time. A payment is 业务类型 交易 for
订单金额（元）; a refund is 退款, for the merchant's negative 商家实收（元）, numbered by
退款批次号/请求号 (our refund id).
"""

# ruff: noqa: RUF001, RUF002 (Alipay names its columns with full-width parentheses)
import csv
import io
import zipfile

from rental.adapters.cny import CURRENCY, fen, from_beijing
from rental.services.ports import StatementLine

DETAIL_SUFFIX = "业务明细.csv"
TRADE_NO = "支付宝交易号"
ORDER_ID = "商户订单号"
KIND = "业务类型"
FINISHED_AT = "完成时间"
ORDER_AMOUNT = "订单金额（元）"
RECEIVED = "商家实收（元）"
REFUND_REQUEST = "退款批次号/请求号"
PAYMENT_KIND, REFUND_KIND = "交易", "退款"


def statement_lines(zipped: bytes) -> list[StatementLine]:
    """Payments and refunds of the bill's detail file. Raises ValueError when the zip or
    its detail file is not in Alipay's documented shape."""
    return detail_lines(_detail_file(zipped).decode("gbk"))


def detail_lines(text: str) -> list[StatementLine]:
    """The lines of a 业务明细 CSV already decoded from GBK."""
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(rows)))
    if reader.fieldnames is None:
        raise ValueError("alipay bill without a header")
    reader.fieldnames = [name.strip() for name in reader.fieldnames]
    missing = {TRADE_NO, ORDER_ID, KIND, FINISHED_AT, ORDER_AMOUNT, RECEIVED} - set(
        reader.fieldnames
    )
    if missing:
        raise ValueError(f"alipay bill without columns {sorted(missing)}")
    lines = []
    for raw in reader:
        row = {name: (value or "").strip() for name, value in raw.items() if name is not None}
        line = _statement_line(row)
        if line is not None:
            lines.append(line)
    return lines


def _statement_line(row: dict[str, str]) -> StatementLine | None:
    at = from_beijing(row[FINISHED_AT])
    if row[KIND] == PAYMENT_KIND:
        return StatementLine(
            "payment", row[TRADE_NO], row[ORDER_ID], fen(row[ORDER_AMOUNT]), CURRENCY, at
        )
    if row[KIND] == REFUND_KIND:
        refund_id = row.get(REFUND_REQUEST, "")
        return StatementLine(
            "refund", row[TRADE_NO], refund_id, abs(fen(row[RECEIVED])), CURRENCY, at
        )
    return None  # other kinds of movement (e.g. 冻结) are no order's


def _detail_file(zipped: bytes) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(zipped))
    except zipfile.BadZipFile as exc:
        raise ValueError("alipay's bill is not a zip") from exc
    with archive:
        for info in archive.infolist():
            if _member_name(info).endswith(DETAIL_SUFFIX):
                return archive.read(info)
    raise ValueError("alipay's bill has no 业务明细 file")


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name: Alipay writes it in GBK without the zip's UTF-8 flag, which
    Python then reads as code page 437."""
    utf8_flag = 0x800
    if info.flag_bits & utf8_flag:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename
