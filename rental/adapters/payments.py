"""Payment orders and refunds in PostgreSQL."""

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from rental.adapters.repositories import AdvisoryLock, hold_rider_lock
from rental.adapters.tables import payment_orders, refunds
from rental.domain.errors import DuplicateRequest
from rental.domain.payments import (
    OrderState,
    PaymentOrder,
    Purpose,
    Refund,
    RefundState,
)

# As SQL, not a bound parameter, so that a generic plan still uses the partial indexes.
PENDING = payment_orders.c.state == literal_column("'pending'")


class PaymentRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add_order(self, order: PaymentOrder) -> None:
        values = {**asdict(order), "purpose": order.purpose.value, "state": order.state.value}
        values.pop("created_at")
        try:
            self._c.execute(insert(payment_orders).values(**values))
        except IntegrityError as exc:
            raise DuplicateRequest("request already received", "duplicate_request") from exc

    def save_order(self, order: PaymentOrder) -> None:
        self._c.execute(
            update(payment_orders)
            .where(payment_orders.c.id == order.id)
            .values(
                state=order.state.value,
                trade_no=order.trade_no,
                pay_url=order.pay_url,
                paid_at=order.paid_at,
                refunded_minor=order.refunded_minor,
            )
        )

    def order(self, order_id: uuid.UUID, *, for_update: bool = False) -> PaymentOrder | None:
        query = select(payment_orders).where(payment_orders.c.id == order_id)
        row = self._c.execute(query.with_for_update() if for_update else query).mappings().first()
        return _order(row) if row else None

    def order_by_key(self, rider_id: uuid.UUID, key: str) -> PaymentOrder | None:
        row = (
            self._c.execute(
                select(payment_orders).where(
                    payment_orders.c.rider_id == rider_id, payment_orders.c.idempotency_key == key
                )
            )
            .mappings()
            .first()
        )
        return _order(row) if row else None

    def lock_rider_orders(self, rider_id: uuid.UUID) -> None:
        hold_rider_lock(self._c, AdvisoryLock.PAYMENT_ORDERS, rider_id)

    def open_until(self, rider_id: uuid.UUID, now: datetime) -> list[datetime]:
        rows = self._c.execute(
            select(payment_orders.c.expires_at).where(
                payment_orders.c.rider_id == rider_id,
                PENDING,
                payment_orders.c.expires_at > now,
            )
        )
        return [row.expires_at for row in rows]

    def expire_pending(self, now: datetime, limit: int = 500) -> int:
        """Oldest first; an order a notification holds is left for the next pass."""
        due = (
            select(payment_orders.c.id)
            .where(PENDING, payment_orders.c.expires_at <= now)
            .order_by(payment_orders.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        expired = self._c.execute(
            update(payment_orders)
            .where(payment_orders.c.id.in_(due), PENDING)
            .values(state=OrderState.EXPIRED.value)
        )
        return expired.rowcount

    def refundable_orders(
        self, rider_id: uuid.UUID, currency: str, purpose: Purpose
    ) -> list[PaymentOrder]:
        """Paid orders for `purpose` with money left to refund, oldest first, locked."""
        rows = self._c.execute(
            select(payment_orders)
            .where(
                payment_orders.c.rider_id == rider_id,
                payment_orders.c.purpose == purpose.value,
                payment_orders.c.currency == currency,
                payment_orders.c.state == OrderState.PAID.value,
                payment_orders.c.refunded_minor < payment_orders.c.amount_minor,
            )
            .order_by(payment_orders.c.paid_at)
            .with_for_update()
        ).mappings()
        return [_order(row) for row in rows]

    def add_refund(self, refund: Refund) -> None:
        # Repeated requests are answered before this (refunds_for_request); a concurrent
        # duplicate is stopped by the unique request key.
        self._c.execute(insert(refunds).values(**{**asdict(refund), "state": refund.state.value}))

    def refund(self, refund_id: uuid.UUID, *, for_update: bool = False) -> Refund | None:
        query = select(refunds).where(refunds.c.id == refund_id)
        row = self._c.execute(query.with_for_update() if for_update else query).mappings().first()
        return _refund(row) if row else None

    def refunds_for_request(self, rider_id: uuid.UUID, key: str) -> list[Refund]:
        rows = self._c.execute(
            select(refunds).where(
                refunds.c.rider_id == rider_id,
                refunds.c.request_key.startswith(f"{key}:", autoescape=True),
            )
        ).mappings()
        return [_refund(row) for row in rows]

    def refunds_of_rider(self, rider_id: uuid.UUID, purpose: Purpose, limit: int) -> list[Refund]:
        query = (
            select(refunds)
            .join(payment_orders, payment_orders.c.id == refunds.c.order_id)
            .where(refunds.c.rider_id == rider_id, payment_orders.c.purpose == purpose.value)
            .order_by(refunds.c.created_at.desc(), refunds.c.id)
            .limit(limit)
        )
        return [_refund(row) for row in self._c.execute(query).mappings()]

    def settle_refund(self, refund: Refund) -> None:
        self._c.execute(
            update(refunds)
            .where(refunds.c.id == refund.id)
            .values(state=refund.state.value, settled_at=func.now())  # reconcile reads it
        )


def _order(row: RowMapping | dict[str, Any]) -> PaymentOrder:
    values = dict(row)
    values["purpose"] = Purpose(values["purpose"])
    values["state"] = OrderState(values["state"])
    return PaymentOrder(**values)


def _refund(row: RowMapping) -> Refund:
    values = {
        key: row[key] for key in ("id", "order_id", "rider_id", "amount_minor", "request_key")
    }
    return Refund(state=RefundState(row["state"]), **values)
