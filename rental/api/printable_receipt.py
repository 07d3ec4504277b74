"""The printable receipt: one ended rental as a page to print or keep, in the rider's
language (the rider app's own words, from its message files: the app names its language in
the link it opens, else the browser's Accept-Language decides), with a QR code that opens
the receipt again in the rider app (which asks the rider to sign in first)."""

import html
import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import segno

from rental.domain.money import format_amount
from rental.domain.pricing import FareLine, Tariff
from rental.services.receipts import Receipt

MESSAGES = Path(__file__).resolve().parents[1] / "web" / "static" / "app" / "messages"
LANGUAGES = ("en", "zh-CN")
ICON = "/web/app/icon.svg"


def language_for(asked: str | None, accepted: Iterable[str]) -> str:
    """The page's language: `asked` (the app's choice) when it is one of LANGUAGES, else the
    first of the browser's `accepted` languages (best first) that is, else English."""
    if asked in LANGUAGES:
        return asked
    for tag in accepted:
        tag = tag.lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


@cache
def _messages(language: str) -> dict[str, str]:
    found: dict[str, str] = json.loads((MESSAGES / f"{language}.json").read_text("utf-8"))
    return found


class Words:
    """The rider app's words in one language, English where that language lacks one."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._own, self._english = _messages(language), _messages("en")

    def has(self, key: str) -> bool:
        return key in self._own or key in self._english

    def __call__(self, key: str, **values: object) -> str:
        text = self._own.get(key, self._english.get(key, key))
        return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), text)

    def duration(self, seconds: int) -> str:
        if seconds % 3600 == 0:
            return self("price.hours", n=seconds // 3600)
        return self("price.minutes", n=round(seconds / 60))

    def line(self, line: FareLine, tariff: Tariff) -> str:
        """A receipt line as the app says it (from its kind), the service's label otherwise."""
        after_free = line.kind == "riding" and tariff.free_seconds
        key = "line.riding_after_free" if after_free else f"line.{line.kind}"
        if not self.has(key):
            return line.label
        return self(
            key,
            n=line.count,
            duration=self.duration(tariff.interval_seconds),
            free=self.duration(tariff.free_seconds),
        )


def app_receipt_url(base_url: str, rental_id: str) -> str:
    """The rider app's screen of one receipt: what a receipt's QR code opens."""
    return f"{base_url.rstrip('/')}/app/#/receipt/{rental_id}"


def printable_page(
    receipt: Receipt, route: list[tuple[float, float]], words: Words, app_url: str
) -> str:
    """The page's HTML. `route`: the trip's trace as [lon, lat] points, drawn by receipt.js."""
    tariff = receipt.rental.tariff

    def money(amount: int) -> str:
        return html.escape(format_amount(amount, tariff.currency))

    def row(label: str, amount: int, attributes: str = "") -> str:
        return f"<tr{attributes}><td>{html.escape(label)}</td><td class=n>{money(amount)}</td></tr>"

    rows = "".join(row(words.line(line, tariff), line.amount_minor) for line in receipt.lines)
    qr = segno.make(app_url, error="m").svg_inline(scale=4)
    ended_at = receipt.rental.ended_at
    # In the city's time, which its riders live by: a ride at 07:30 in Shanghai is not
    # yesterday's ride at 23:30 UTC.
    ended = (
        ended_at.astimezone(ZoneInfo(receipt.time_zone)).strftime("%Y-%m-%d %H:%M %Z")
        if ended_at
        else ""
    )
    kind = f"kind.{receipt.asset_kind}"
    asset = words(kind) if words.has(kind) else receipt.asset_kind
    title = html.escape(words("receipt.number", number=receipt.number))
    # The route map is drawn by receipt.js (Leaflet over the city's zones, no tiles needed)
    # from the trace carried here: the page needs no token to draw it.
    trace = html.escape(json.dumps(route, separators=(",", ":")))
    print_words = html.escape(words("receipt.print"))
    return f"""<!doctype html><html lang={words.language}><head><meta charset=utf-8>
<meta name=viewport content="width=device-width"><title>{title}</title>
<link rel=icon href="{ICON}" type="image/svg+xml">
<link rel=stylesheet href="/web/receipt/receipt.css">
<script type=module src="/web/receipt/receipt.js"></script></head><body><main>
<h1>{title}</h1>
<p>{html.escape(asset)} {html.escape(receipt.asset_code)} &middot; {ended}</p>
<div id=receipt-map class=route-map role=region aria-label="{html.escape(words("receipt.route"))}"
 data-city="{html.escape(receipt.city_id)}" data-route="{trace}"
 data-no-route="{html.escape(words("receipt.no_route"))}"></div>
<table>{rows}{row(words("receipt.total"), receipt.total_minor, " class=t")}
{row(words("receipt.paid"), receipt.paid_from_wallet_minor)}
{row(words("receipt.owed"), receipt.owed_minor)}
{row(words("receipt.refunded"), receipt.refunded_minor)}</table>
<figure>{qr}<figcaption>{html.escape(words("receipt.scan"))}</figcaption></figure>
<p class=screen-only><button id=print type=button disabled>{print_words}</button></p>
</main></body></html>"""
