"""Receipts (JSON and a printable page with a QR code back to them) and disputes."""

import html
from dataclasses import asdict
from typing import Any

import segno
from flask import Blueprint, Response, request

from rental.api.auth import current_user_id, requires
from rental.api.common import platform, qr_image, tariff_view
from rental.api.parsing import is_integer, json_body, path_uuid
from rental.domain.disputes import Dispute, DisputeState
from rental.domain.errors import NotFound
from rental.domain.pricing import format_amount
from rental.domain.riders import Role
from rental.services import disputes, receipts
from rental.services.commands.money import OpenDispute, ResolveDispute

blueprint = Blueprint("receipts", __name__, url_prefix="/api/v1")


def _receipt(rental_id: str) -> receipts.Receipt:
    return receipts.receipt_for(platform().uow(), current_user_id(), path_uuid(rental_id, "rental"))


def _receipt_url(rental_id: str) -> str:
    return f"{platform().config.PUBLIC_BASE_URL.rstrip('/')}/api/v1/rentals/{rental_id}/receipt"


@blueprint.get("/rentals/<rental_id>/receipt")
@requires(Role.RIDER)
def receipt_json(rental_id: str) -> dict[str, Any]:
    receipt = _receipt(rental_id)
    rental = receipt.rental
    return {
        "number": receipt.number,
        "rental_id": str(rental.id),
        "asset": {"code": receipt.asset_code, "kind": receipt.asset_kind},
        "started_at": rental.started_at.isoformat() if rental.started_at else None,
        "ended_at": rental.ended_at.isoformat() if rental.ended_at else None,
        "duration_s": rental.duration_seconds,
        "distance_m": None if rental.distance_m is None else round(rental.distance_m, 1),
        "currency": rental.tariff.currency,
        "lines": [asdict(line) for line in receipt.lines],
        "price": tariff_view(rental.tariff),
        "total_minor": receipt.total_minor,
        "paid_from_wallet_minor": receipt.paid_from_wallet_minor,
        "owed_minor": receipt.owed_minor,
        "refunded_minor": receipt.refunded_minor,
        "disputes": [dispute_view(d) for d in receipt.disputes],
        "url": _receipt_url(rental_id),
        "printable_url": _receipt_url(rental_id) + ".html",
        "qr": qr_image(_receipt_url(rental_id)),
    }


@blueprint.get("/rentals/<rental_id>/receipt.html")
@requires(Role.RIDER)
def receipt_page(rental_id: str) -> Response:
    receipt = _receipt(rental_id)
    currency = receipt.rental.tariff.currency

    def money(amount: int) -> str:
        return html.escape(format_amount(amount, currency))

    rows = "".join(
        f"<tr><td>{html.escape(line.label)}</td><td class=n>{money(line.amount_minor)}</td></tr>"
        for line in receipt.lines
    )
    qr = segno.make(_receipt_url(rental_id), error="m").svg_inline(scale=4)
    ended = (
        receipt.rental.ended_at.strftime("%Y-%m-%d %H:%M UTC") if receipt.rental.ended_at else ""
    )
    page = f"""<!doctype html><html><head><meta charset=utf-8>
<meta name=viewport content="width=device-width"><title>Receipt {receipt.number}</title>
<link rel=stylesheet href="/web/receipt/receipt.css"></head><body>
<h1>Receipt {receipt.number}</h1>
<p>{html.escape(receipt.asset_kind)} {html.escape(receipt.asset_code)} &middot; {ended}</p>
<table>{rows}<tr class=t><td>Total</td><td class=n>{money(receipt.total_minor)}</td></tr>
<tr><td>Paid from wallet</td><td class=n>{money(receipt.paid_from_wallet_minor)}</td></tr>
<tr><td>Owed</td><td class=n>{money(receipt.owed_minor)}</td></tr>
<tr><td>Refunded</td><td class=n>{money(receipt.refunded_minor)}</td></tr></table>
<figure>{qr}<figcaption>Scan to open this receipt</figcaption></figure>
</body></html>"""
    return Response(page, mimetype="text/html")


@blueprint.post("/rentals/<rental_id>/disputes")
@requires(Role.RIDER)
def open_dispute(rental_id: str) -> tuple[dict[str, Any], int]:
    key = path_uuid(rental_id, "rental")
    reason = json_body().get("reason")
    command = OpenDispute(current_user_id(), key, reason if isinstance(reason, str) else None)
    p = platform()
    return dispute_view(disputes.open_dispute(p.uow(), command, p.now())), 201


@blueprint.get("/ops/disputes")
@requires(Role.OPERATOR)
def list_disputes() -> dict[str, Any]:
    state = request.args.get("state", "open")
    try:
        wanted = DisputeState(state)
    except ValueError:
        raise NotFound(f"no dispute state {state}", "invalid_state") from None
    found = disputes.disputes_in_state(platform().uow(), wanted)
    return {"disputes": [dispute_view(d) for d in found]}


@blueprint.post("/ops/disputes/<dispute_id>/resolution")
@requires(Role.OPERATOR)
def resolve_dispute(dispute_id: str) -> dict[str, Any]:
    body = json_body()
    refund = body.get("refund_minor")
    command = ResolveDispute(
        path_uuid(dispute_id, "dispute"),
        refund if is_integer(refund) else None,
        str(body.get("note") or ""),
    )
    p = platform()
    dispute = disputes.resolve_dispute(p.uow(), command, p.now(), p.config.WALLET_FLOOR_MINOR)
    return dispute_view(dispute)


def dispute_view(dispute: Dispute) -> dict[str, Any]:
    return {
        "id": str(dispute.id),
        "rental_id": str(dispute.rental_id),
        "reason": dispute.reason,
        "state": dispute.state.value,
        "refund_minor": dispute.refund_minor,
        "note": dispute.note,
        "created_at": dispute.created_at.isoformat() if dispute.created_at else None,
        "resolved_at": dispute.resolved_at.isoformat() if dispute.resolved_at else None,
    }
